"""Business handling for subscribers: airtime balance, add-on orders, account queries."""
