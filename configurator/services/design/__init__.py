"""Design use cases: the design service, optimization runs and the design book."""
