"""Readers that turn AWS data (a snapshot folder, later live AWS) into the engine's inventory."""
