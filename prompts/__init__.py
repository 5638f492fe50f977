"""The prompt catalog (key > Hindi and English text, audio stem) and the build of its audio."""
