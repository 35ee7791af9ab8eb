"""copflow web: people sign in and act for themselves, on the same use cases as the command line."""
