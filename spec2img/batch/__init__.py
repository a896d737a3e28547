"""At scale: folders of files, process pools and Dask, long-recording segments."""
