"""Model zoo: bundled trained models (.nir) with small test sets."""
