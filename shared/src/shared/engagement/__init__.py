"""Customer engagement: daily check-in with streaks and make-up, treasure hunts with prize pools."""
