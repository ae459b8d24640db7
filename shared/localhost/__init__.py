"""A local stand-in for the Functions host: runs `function_app`'s registered functions."""
