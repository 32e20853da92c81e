-- Give unassigned target customers to managers of their branch with spare capacity. Slots are
-- numbered by the load they would create (manager at 120 offers slots 121..cap), so ordering
-- slots by number fills the least-loaded managers first: balanced within each branch. The most
-- valuable customers get the first slots; whoever is left over when a branch is full stays
-- unassigned (reported in the stage notes).
WITH load AS (
    SELECT s.id AS manager_id, s.org_unit_id AS branch_id,
           least(greatest(s.capacity, :min_per_manager), :max_per_manager) AS cap,
           (SELECT count(*) FROM manager_assignments a WHERE a.manager_id = s.id) AS n
    FROM staff_users s
    WHERE s.role = 'account_manager' AND s.active AND s.org_unit_id IS NOT NULL
),
slots AS (
    SELECT l.branch_id, l.manager_id,
           row_number() OVER (PARTITION BY l.branch_id ORDER BY g.slot, l.manager_id) AS rn
    FROM load l CROSS JOIN LATERAL generate_series(l.n + 1, l.cap) AS g(slot)
),
todo AS (
    SELECT t.customer_id, t.branch_id,
           row_number() OVER (PARTITION BY t.branch_id ORDER BY t.value DESC, t.customer_id) AS rn
    FROM engine_assign_target t
    WHERE NOT EXISTS (SELECT 1 FROM manager_assignments a WHERE a.customer_id = t.customer_id)
),
ins AS (
    INSERT INTO manager_assignments (customer_id, manager_id, reason)
    SELECT todo.customer_id, slots.manager_id, 'engine: high-value customer'
    FROM todo JOIN slots ON slots.branch_id = todo.branch_id AND slots.rn = todo.rn
    ON CONFLICT (customer_id) DO NOTHING
    RETURNING customer_id, manager_id
)
INSERT INTO assignment_history (customer_id, from_manager_id, to_manager_id, reason)
SELECT customer_id, NULL, manager_id, 'engine: assigned' FROM ins
