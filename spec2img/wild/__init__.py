"""Images spec2img did not write: plot geometry, colormaps, rasters, presets, Riffusion."""
