"""Print-farm use cases: auth, nodes, jobs, agent operations, demo farm."""
