"""`python -m analysis …`: the command line over the other layers."""
