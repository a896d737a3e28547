"""Signal processing: the STFT engine and its compiled kernels, dB and mel scales, grid resampling."""
