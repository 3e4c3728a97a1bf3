"""Offline corpus builder and split maker (run by `make corpus`)."""
