"""The prompt catalog: key to Hindi and English text and audio stem (filled by the IVR issue)."""
