"""The ``spec2img`` command line's parser: every command's options, their help and
defaults, and how a parameter is spelled as a flag (``n_fft`` -> ``--n-fft``).

It holds no command's work (:mod:`spec2img.cli.commands` does) and imports nothing
heavy, so that ``spec2img --help`` starts fast.
"""

from __future__ import annotations

import argparse

from .. import __version__
from ..errors import ParameterError, Spec2ImgError, one_line
from ..options import DEFAULT_METHOD, DEFAULT_N_ITER, METHODS
from ..params import DEFAULT_N_FFT, DEFAULT_N_MELS, DEFAULT_TOP_DB, DEFAULT_WINDOW
from .argtypes import finite_float, nonneg_float, nonneg_int, positive_int

PROG = "spec2img"


#: How a parameter is spelled on this command line where it differs from ``--name``,
#: in the lists of what to give (``--sr RATE``).
FLAG_METAVARS = {
    "sr": "--sr RATE", "n_fft": "--n-fft N", "duration": "--duration SECONDS",
    "frames": "--frames N", "db_range": "--db-range LOW HIGH",
}  # fmt: skip


def _size(text: str) -> tuple[int, int]:
    from ..io.dataset import parse_size

    try:
        return parse_size(text)
    except ParameterError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--workers", type=positive_int, default=None, metavar="N",
        help="FFT threads (default: 1, measured fastest on a loaded 2-core machine)",
    )  # fmt: skip


def _add_max_pixels(p) -> None:
    p.add_argument(
        "--max-pixels", type=positive_int, default=None, metavar="N",
        help="refuse images of more pixels (or decodes of more spectrogram cells) than N "
        "(default 2**27 = 134217728, 10 minutes of stereo 44.1 kHz); raise it for trusted huge images",
    )  # fmt: skip


def _add_audio_output(g) -> None:
    """--subtype and --normalize, for every command that writes audio."""
    g.add_argument("--subtype", help="PCM_16 (default for WAV), PCM_24, FLOAT, ...")
    g.add_argument(
        "--normalize", action="store_true",
        help="scale the peak to -1 dBFS instead of clipping beyond full scale",
    )  # fmt: skip


def _add_overwrite(g) -> None:
    """-y/--overwrite for commands that write one output (encode and decode have it in
    their batch options)."""
    g.add_argument("-y", "--overwrite", action="store_true",
                   help="replace an existing output file")  # fmt: skip


def _add_codec_options(g) -> None:
    """Encoder settings libsndfile offers for compressed audio."""
    g.add_argument(
        "--compression-level", type=finite_float, metavar="0..1",
        help="FLAC, Vorbis, Opus, MP3 encoder: 0 = best quality and largest file, 1 = "
        "smallest (default: libsndfile's)",
    )  # fmt: skip
    g.add_argument(
        "--bitrate-mode", type=str.upper, choices=["CONSTANT", "AVERAGE", "VARIABLE"],
        help="MP3: constant, average or variable bitrate",
    )  # fmt: skip


def _add_phase_retrieval(p: argparse.ArgumentParser, title: str = "phase retrieval"):
    """The phase-retrieval options of every command that writes audio; returns the group."""
    g = p.add_argument_group(title)
    g.add_argument(
        "--method", default=None, metavar="|".join(METHODS),
        help=f"phase retrieval method (default {DEFAULT_METHOD}: PGHI, then fast "
        "Griffin-Lim, then accelerated Griffin-Lim for the last quarter or so)",
    )  # fmt: skip
    g.add_argument(
        "--n-iter", type=nonneg_int, default=None,
        help=f"iterations, all of them counted ({DEFAULT_N_ITER}: for {DEFAULT_METHOD}, "
        "65 FGLA then 25 AGLA)",
    )  # fmt: skip
    g.add_argument("--momentum", type=finite_float, default=None, help="FGLA momentum (0.99)")
    g.add_argument(
        "--stop-db", type=nonneg_float, default=None, metavar="DB",
        help="stop iterating once the spectral convergence (the distance between the "
        "image's magnitude and that of the audio so far) has not improved by DB dB in 20 "
        "iterations; default 0.1 for images that hold no more detail than mel bands or "
        "8 bits (mel, Riffusion, plain and 8-bit images), off for 16-bit linear images; 0 "
        "runs every iteration",
    )  # fmt: skip
    g.add_argument("--seed", type=int, default=0, help="seed of the random phases (0)")
    return g


def _add_encode(sub) -> None:
    p = sub.add_parser(
        "encode", help="audio file -> 16-bit spectrogram PNG",
        usage="%(prog)s AUDIO IMAGE.png [options]\n       %(prog)s INPUT... -o OUTDIR [options]",
        description="Encode an audio file as a 16-bit grayscale spectrogram PNG with "
        "every parameter needed to invert it stored in its text chunks.",
    )  # fmt: skip
    p.add_argument(
        "inputs", nargs="+", metavar="PATH",
        help="input audio (WAV, FLAC, OGG, MP3 where supported; '-': standard input) and "
        "output .png ('-': standard output); or audio files, folders and globs with -o OUTDIR",
    )  # fmt: skip
    g = p.add_argument_group("spectrogram (librosa's names)")
    g.add_argument("--n-fft", type=positive_int, default=DEFAULT_N_FFT,
                   help=f"FFT size ({DEFAULT_N_FFT})")  # fmt: skip
    g.add_argument("--hop-length", type=positive_int, help="hop (default win_length / 4)")
    g.add_argument("--win-length", type=positive_int, help="window length (default n_fft)")
    g.add_argument("--window", default=DEFAULT_WINDOW,
                   help=f"any scipy window name ({DEFAULT_WINDOW})")  # fmt: skip
    g.add_argument("--sr", type=positive_int, help="resample to this rate first")
    g.add_argument("--mono", action="store_true", help="downmix to one channel")
    g.add_argument("--scale", choices=["linear", "mel"], default="linear")
    g.add_argument("--n-mels", type=positive_int, default=DEFAULT_N_MELS,
                   help=f"mel bands ({DEFAULT_N_MELS})")  # fmt: skip
    g.add_argument("--fmin", type=finite_float, default=0.0, help="lowest mel frequency, Hz (0)")
    g.add_argument("--fmax", type=finite_float, help="highest mel frequency, Hz (sr / 2)")
    g.add_argument(
        "--top-db", type=finite_float, default=DEFAULT_TOP_DB,
        help=f"dynamic range kept below the peak, dB ({DEFAULT_TOP_DB:g})",
    )  # fmt: skip
    g.add_argument(
        "--size", type=_size, metavar="WxH",
        help="write the image at W x H pixels (fixed-size training sets); the STFT grid "
        "is kept in the metadata and restored on decode",
    )  # fmt: skip
    g.add_argument(
        "--keep-phase", action="store_true",
        help="also write the STFT phase to IMAGE.phase.png; decoding starts from it "
        "(near-lossless round trips, edits converge from the original phase)",
    )  # fmt: skip
    _add_common(p)
    _add_batch(p, "encode")


def _add_decode(sub) -> None:
    p = sub.add_parser(
        "decode", help="spectrogram PNG -> audio file",
        usage="%(prog)s IMAGE AUDIO [options]\n       %(prog)s INPUT... -o OUTDIR [options]",
        description="Decode a spectrogram image to audio: undo the dB mapping, recover "
        "the phase, restore the original length and level.",
    )  # fmt: skip
    p.add_argument(
        "inputs", nargs="+", metavar="PATH",
        help="input spectrogram image (a spec2img PNG, a Riffusion image, or any image with "
        "the parameters below; '-': standard input) and output audio (.wav, .flac, .ogg, "
        ".opus or .mp3; '-': WAV on standard output); or images, folders and globs with "
        "-o OUTDIR",
    )  # fmt: skip
    g = _add_phase_retrieval(p)
    ph = g.add_mutually_exclusive_group()
    ph.add_argument(
        "--phase", metavar="FILE",
        help="start from this kept-phase image (default: the one the image names)",
    )  # fmt: skip
    ph.add_argument(
        "--no-phase", action="store_true", help="ignore a kept-phase image (--keep-phase)"
    )
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_codec_options(o)
    _add_max_pixels(o)
    _add_plain_options(p)
    _add_common(p)
    _add_batch(p, "decode")


#: --preset choices, spelled out so that --help need not import the presets module.
PRESET_NAMES = ("specgram", "sox", "audio-diffusion", "riffusion", "scipy", "scipy-power")


def _add_plain_options(p: argparse.ArgumentParser, *, cmap: bool = True) -> None:
    """The plain-image options; ``cmap=False`` where --cmap means something else."""
    g = p.add_argument_group(
        "images without spec2img metadata (plots, JPEGs, GAN outputs)",
        "Give the parameters the image was made with (librosa's names); --sr, --n-fft "
        "and --duration (or --frames) are needed unless --params-from or --preset "
        "supplies them or the figure's axes say them (specshow, plt.specgram and scipy "
        "figures are read like a person reads them).  Riffusion images need none; sox "
        "PNGs are recognised.",
    )
    g.add_argument(
        "--preset", metavar="|".join(PRESET_NAMES),
        help="the conventions of the tool that drew the image (plt.specgram, sox "
        "spectrogram, audio-diffusion's Mel, Riffusion); add what the tool was told "
        "(--sr, --duration, ...); options given override it",
    )  # fmt: skip
    g.add_argument("--sr", type=finite_float, help="sample rate, Hz")
    g.add_argument("--n-fft", type=finite_float, help="FFT size")
    g.add_argument("--hop-length", type=finite_float, help="hop (default win_length / 4)")
    g.add_argument("--win-length", type=finite_float, help="window length (default n_fft)")
    g.add_argument("--window", help="window name (hann)")
    t = g.add_mutually_exclusive_group()
    t.add_argument("--duration", type=finite_float, metavar="SECONDS", help="length of the audio")
    t.add_argument("--frames", type=finite_float, metavar="N", help="number of STFT frames")
    if cmap:
        g.add_argument(
            "--cmap", metavar="NAME",
            help="matplotlib colormap the image was drawn with: gray (default), gray_r, "
            "magma, viridis, inferno, ...; auto: read the figure's colour bar",
        )  # fmt: skip
    d = g.add_mutually_exclusive_group()
    d.add_argument(
        "--db-range", type=finite_float, nargs=2, metavar=("LOW", "HIGH"),
        help="absolute dB of the colormap's ends; keeps the level",
    )  # fmt: skip
    d.add_argument(
        "--top-db", type=finite_float, metavar="DB",
        help="dB range below an unknown peak (80, as librosa's amplitude_to_db); "
        "the output is normalised to -1 dBFS",
    )  # fmt: skip
    g.add_argument(
        "--y-axis", metavar="AXIS", help="specshow's y_axis: linear (default), log, or "
        "mel (rows are mel bands); plainlog for matplotlib's set_yscale('log') "
        "(labels 10^k; give --fmin, the axis's bottom)",
    )  # fmt: skip
    g.add_argument(
        "--fmin", type=finite_float, help="lowest frequency shown (mel: of the bands), Hz"
    )
    g.add_argument(
        "--fmax", type=finite_float, help="highest frequency shown (mel: of the bands), Hz"
    )
    g.add_argument("--n-mels", type=finite_float, help="mel bands of a --y-axis mel image (128)")
    g.add_argument(
        "--mel-power", type=finite_float, metavar="P",
        help="2 if the mel bands are power (librosa.feature.melspectrogram, default for "
        "plots), 1 if magnitude",
    )  # fmt: skip
    g.add_argument(
        "--params-from", metavar="PATH",
        help="take every parameter from a spec2img image, an 'info --json' file or a "
        "dataset JSON (e.g. the GAN's training set)",
    )  # fmt: skip
    g.add_argument(
        "--crop", metavar="L,T,R,B",
        help="the plot area as a pixel box (left,top,right,bottom; right and bottom "
        "exclusive); default: trim uniform borders and find the axes frame",
    )  # fmt: skip


def _add_show(sub) -> None:
    p = sub.add_parser(
        "show", help="draw a labelled preview of an image or audio file",
        description="Draw a spectrogram image (or the spectrogram of an audio file) with "
        "time in seconds, frequency in Hz and a dB colour bar.",
    )  # fmt: skip
    p.add_argument("input", help="spec2img image, Riffusion image, or audio file")
    p.add_argument(
        "-o", "--output", metavar="PREVIEW",
        help="write the figure (.png, .pdf, .svg, .jpg); default: open a window, or "
        "write INPUT_preview.png in the current folder when there is no display",
    )  # fmt: skip
    p.add_argument("--dpi", type=positive_int, default=100, help="resolution (100)")
    _add_overwrite(p)
    p.add_argument("--cmap", default="magma", help="matplotlib colormap (magma)")
    p.add_argument("-q", "--quiet", action="store_true", help="no status line")
    _add_plain_options(p, cmap=False)


def _add_batch(p: argparse.ArgumentParser, kind: str) -> None:
    from .batch_args import add_arguments, check_arguments

    add_arguments(p, kind)
    p.set_defaults(check=lambda args: check_arguments(args, p.error))


def _add_join(sub) -> None:
    p = sub.add_parser(
        "join", help="segment images -> one audio file",
        usage="%(prog)s SEGMENTS... AUDIO [options]",
        description="Decode the segment images of one recording (from encode --segment) "
        "and join them with phase-coherent, crossfaded seams into audio of the original "
        "length.",
    )  # fmt: skip
    p.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="a folder of segment images, or the images (globs too), then the output audio",
    )  # fmt: skip
    _add_phase_retrieval(p)
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_max_pixels(o)
    _add_overwrite(o)
    _add_common(p)

    def check(args) -> None:
        if len(args.paths) < 2:
            p.error("give the segment images (or their folder), then the output audio")

    p.set_defaults(check=check)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="print an image's parameters")
    p.add_argument("image", help="a spec2img image ('-': standard input)")
    p.add_argument("--json", action="store_true", help="one JSON object of the metadata")
    _add_max_pixels(p)
    _add_plain_options(p)  # --params-from: also the original of an image an editor stripped


def _add_decompose(sub) -> None:
    p = sub.add_parser(
        "decompose", help="spectrogram PNG -> NMF components.png + activations.png",
        description="Factor a spectrogram image with NMF into OUTDIR/components.png "
        "(spectra: frequency x K) and OUTDIR/activations.png (K x frames), 16-bit PNGs "
        "you can edit; paint a row of activations.png black to silence that component.",
    )  # fmt: skip
    p.add_argument("image", help="input spectrogram PNG")
    p.add_argument("outdir", help="output folder (created if missing)")
    _add_overwrite(p)
    p.add_argument("--components", "-k", type=positive_int, required=True, metavar="K",
                   help="number of components")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the initialisation (0)")
    p.add_argument(
        "--beta-loss", default="kullback-leibler",
        choices=["kullback-leibler", "frobenius"],
        help="divergence NMF minimises (kullback-leibler)",
    )  # fmt: skip
    p.add_argument("--max-iter", type=positive_int, default=200, help="iterations (200)")
    _add_common(p)


def _add_recompose(sub) -> None:
    p = sub.add_parser(
        "recompose", help="components.png x activations.png -> spectrogram PNG or audio",
        description="Multiply NMF components by activations (W x H), possibly edited, "
        "into a spectrogram PNG, or into audio with the phase recovered.",
    )  # fmt: skip
    p.add_argument("components", help="components.png from spec2img decompose")
    p.add_argument("activations", help="activations.png from spec2img decompose")
    p.add_argument("output", help="output .png (spectrogram) or .wav/.flac/.ogg (audio)")
    p.add_argument("--top-db", type=finite_float, default=None,
                   help="dynamic range of an output PNG (default: the source's)")  # fmt: skip
    _add_phase_retrieval(p, "audio output: phase retrieval")
    g = p.add_argument_group("audio output")
    _add_audio_output(g)
    _add_overwrite(p)
    _add_common(p)


def _add_mosaic(sub) -> None:
    p = sub.add_parser(
        "mosaic", help="rebuild TARGET audio out of SOURCE audio's spectral frames",
        description="Audio mosaicing (Driedger, Pratzlich & Mueller 2015): learn how "
        "to mix SOURCE's spectral frames so that they imitate TARGET, and write the "
        "mosaic, as long as TARGET.",
    )  # fmt: skip
    p.add_argument("source", help="audio whose sounds are used")
    p.add_argument("target", help="audio to imitate")
    p.add_argument("output", help="output audio: .wav, .flac or .ogg")
    p.add_argument("--n-iter", type=positive_int, default=100,
                   help="updates of the activations (100)")  # fmt: skip
    p.add_argument("--sparse", type=positive_int, default=None, metavar="K",
                   help="keep the K strongest source frames per target frame")  # fmt: skip
    p.add_argument(
        "--phase", choices=["target", "retrieve", "source"], default="target",
        help="target's phase (default), phase retrieval, or the source frames' own",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the random start (0)")
    p.add_argument("--n-fft", type=positive_int, default=DEFAULT_N_FFT,
                   help=f"FFT size ({DEFAULT_N_FFT})")  # fmt: skip
    p.add_argument("--hop-length", type=positive_int, help="hop (default n_fft / 4)")
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_overwrite(o)
    _add_common(p)


def _add_edit(sub) -> None:
    p = sub.add_parser(
        "edit", help="edit a spectrogram in the browser and hear every change at once",
        description="Serve a local page that shows INPUT's spectrogram (or a silent canvas: "
        "--new) and lets you paint sound, select (rectangle, lasso, wand), erase, attenuate, "
        "boost, heal, copy, move and solo it, hearing each edit at once; export or save the "
        "result.  Runs until Ctrl-C.",
    )  # fmt: skip
    p.add_argument("input", metavar="INPUT", nargs="?", help="audio file, spec2img image, or "
                   "any spectrogram image with the plain-image options below")  # fmt: skip
    p.add_argument(
        "-o", "--output", metavar="OUTPUT",
        help="file the page's Save button writes atomically: audio (.wav, .flac, ...) or a "
        "spec2img image (.png, with OUTPUT.phase.png); never INPUT",
    )  # fmt: skip
    p.add_argument(
        "--new", type=finite_float, metavar="SECONDS",
        help="start from a silent canvas this long instead of INPUT (with -o OUTPUT; "
        "--sr, default 44100, and --channels)",
    )  # fmt: skip
    p.add_argument("--channels", type=positive_int, default=1,
                   help="channels of a --new canvas (1)")  # fmt: skip
    p.add_argument(
        "--scale", choices=["linear", "mel"],
        help="audio and --new: rows are STFT bins (linear, default) or mel bands; with "
        "--n-fft, --hop-length, --win-length, --window, --n-mels, --fmin, --fmax, --top-db, "
        "--db-range and --sr below, audio opens at the resolution you choose",
    )  # fmt: skip
    p.add_argument("--port", type=nonneg_int, default=0, help="port (default: a free one)")
    p.add_argument(
        "--host", default="127.0.0.1", metavar="ADDR",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )  # fmt: skip
    p.add_argument("-y", "--overwrite", action="store_true",
                   help="let Save replace an existing OUTPUT")  # fmt: skip
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests whose Host header names NAME (a proxy's or "
                   "a tunnel's host name; loopback names always work)")  # fmt: skip
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("-q", "--quiet", action="store_true", help="no status line while opening")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--resume", action="store_true",
                   help="restore the unsaved edits a previous session of INPUT left")  # fmt: skip
    r.add_argument("--fresh", action="store_true",
                   help="start unedited, setting a previous session's unsaved edits aside")  # fmt: skip
    _add_max_pixels(p)
    _add_plain_options(p)

    def check(args) -> None:
        if (args.input is None) == (args.new is None):
            p.error("give INPUT or --new SECONDS, not both")
        if args.new is not None and args.output is None:
            p.error("--new needs -o OUTPUT: the file the Save button writes")

    p.set_defaults(check=check)


def _add_apply(sub) -> None:
    p = sub.add_parser(
        "apply", help="replay an edit list from the editor on recordings",
        description="Replay EDITS.json (the editor's Edits download) on INPUT, as the page "
        "would have, and write the result as the page's export would: byte for byte the "
        "same for the same input.  Several inputs, or a folder, go into -o OUTDIR.",
    )  # fmt: skip
    p.add_argument("edits", metavar="EDITS.json", help="an edit list (spec2img-edits, version 1)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="audio files, spec2img images, or a folder of them")  # fmt: skip
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="output file (audio or .png); a folder for several inputs")  # fmt: skip
    p.add_argument("--format", choices=["wav", "flac", "png"], default="wav",
                   help="what goes into OUTDIR (wav)")  # fmt: skip
    p.add_argument("-j", "--jobs", type=positive_int, default=1, metavar="N",
                   help="inputs processed at once (1)")  # fmt: skip
    p.add_argument("-y", "--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no status lines")
    _add_max_pixels(p)
    _add_plain_options(p)


#: Each command's name and the function adding its parser (in ``--help``'s order).
COMMANDS = {
    "encode": _add_encode, "decode": _add_decode, "join": _add_join, "info": _add_info,
    "show": _add_show, "decompose": _add_decompose, "recompose": _add_recompose,
    "mosaic": _add_mosaic, "edit": _add_edit, "apply": _add_apply,
}  # fmt: skip


def create_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``spec2img`` command.

    With ``command`` (a key of :data:`COMMANDS`) only that command's parser is built:
    building all of them costs more than a short decode's reading of its input.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Audio to editable spectrogram images, and images back to audio.",
        epilog="Run 'spec2img COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, add in COMMANDS.items():
        if command is None or name == command:
            add(sub)
    return parser


def flag(name: str, full: bool = False) -> str:
    """A parameter's command-line spelling: ``n_fft`` -> ``--n-fft`` (``--n-fft N`` if full)."""
    if full and name in FLAG_METAVARS:
        return FLAG_METAVARS[name]
    if name == "overwrite":
        return "--overwrite (-y)"
    return "--" + name.replace("_", "-")


def respell(text: str, params: tuple[str, ...]) -> str:
    """A library message's parameter names as this command line's flags."""
    from ..errors import respell as _respell

    return _respell(text, params, flag)


def error_line(e: BaseException) -> str:
    """One printable line, with the parameters the library names shown as flags."""
    if isinstance(e, Spec2ImgError | Warning) and getattr(e, "params", ()):
        return one_line(e.respelled(flag))
    return one_line(e)
