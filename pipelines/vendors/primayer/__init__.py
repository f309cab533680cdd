"""Primayer Phocus/Enigma leak loggers: epochs with noise histograms, signal, Enigma groups, audio, reports."""
