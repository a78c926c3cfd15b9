"""The top layer: the real Pulumi CLI running the program, with stand-in provider plugins."""
