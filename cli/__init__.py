"""The `fontpipe` command line: the outer layer, which may call flows and the library."""
