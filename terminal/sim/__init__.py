"""`hotline sim`: two units on this machine running the daemon's own code."""
