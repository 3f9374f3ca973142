"""Media I/O: low-resolution decoding, clip frame sampling, stream copy, re-encoding, smart cut, seeking."""
