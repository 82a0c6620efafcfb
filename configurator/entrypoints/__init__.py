"""Entry points: the HTTP API and web pages, the command line, the benchmarks, the node agent."""
