# The public API, for type checkers and for the lazy namespace alike: __init__.py hands
# this file to lazy_loader.attach_stub, which imports each name from its module on first
# use, so this list is the only one (tests/test_types.py checks both views agree).
from .arrays.dropins import griffinlim as griffinlim
from .arrays.dropins import mel_to_audio as mel_to_audio
from .arrays.mosaicing import mosaic as mosaic
from .arrays.nmf import Factors as Factors
from .arrays.nmf import decompose as decompose
from .arrays.nmf import load_factors as load_factors
from .arrays.nmf import recompose as recompose
from .arrays.scipy_compat import SCIPY_WINDOW as SCIPY_WINDOW
from .arrays.scipy_compat import invert_scipy_spectrogram as invert_scipy_spectrogram
from .arrays.spectra import from_array as from_array
from .arrays.spectra import to_image as to_image
from .edit.widget import edit as edit
from .errors import InputError as InputError
from .errors import MetadataError as MetadataError
from .errors import OutputError as OutputError
from .errors import ParameterError as ParameterError
from .errors import Spec2ImgError as Spec2ImgError
from .io.audio import load_audio as load_audio
from .io.audio import save_audio as save_audio
from .io.image import SpectrogramImage as SpectrogramImage
from .io.image import load as load
from .params import Metadata as Metadata
from .params import SpecParams as SpecParams
from .pipeline import audio_to_image as audio_to_image
from .pipeline import decode as decode
from .pipeline import encode as encode
from .pipeline import image_to_audio as image_to_audio
from .pipeline import load_image as load_image
from .wild.identify import identify as identify

__version__: str
