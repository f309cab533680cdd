"""BAXO Connect (BAMO) data loggers: contracts, devices, real-time and historic tag values."""
