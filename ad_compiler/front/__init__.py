"""The front end: source -> checked syntax -> A-normal form -> structured control flow."""
