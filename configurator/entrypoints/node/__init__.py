"""The print-node agent: heartbeats, claims and prints through a printer connector."""
