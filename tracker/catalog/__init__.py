"""Settings and the TOML goal catalog, read into validated models."""
