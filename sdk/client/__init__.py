"""The only code that talks to the API: the client, its documents, transports and views."""
