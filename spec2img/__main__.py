from spec2img.cli import run

run()
