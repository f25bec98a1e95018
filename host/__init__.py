"""The technician's host tool."""
