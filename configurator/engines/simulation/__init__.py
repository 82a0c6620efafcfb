"""The discrete-event farm simulator and its workloads, reference scheduler and report."""
