"""The wheel model: what a wheel file holds and the rules it must follow.

The lowest layer under the store, the index and the linker alike: it imports
nothing of cachedb but ``errors`` and the small shared helpers, so each of them
may use it. Each module loads only what it uses (the warm path reads RECORD
through ``records`` and nothing else of this package).

- ``zipdir``: the zip's central directory, parsed once (``read_directory``), and
  its byte layout checked (``read_layout``); ``WheelBytes``, ``Member``
- ``inflate``: a member's bytes, never more than it declares (``MemberReader``)
- ``localheaders``: the members read from their local headers as the bytes arrive
  (``LocalHeaders``), stopping at any doubt (``Unsure``)
- ``members``: which members a wheel may have (names, types, sizes; the limits)
- ``metadata``: the ``.dist-info`` directory, WHEEL and METADATA checked against
  the filename; ``wheel_metadata``, the METADATA of a wheel file
- ``records``: ``RecordEntry``, ``Hash``, the one RECORD parser, the wheel's RECORD
  checked (``check_wheel_record``, ``check_listed``), ``format_record``
- ``dist_info``: the METADATA of an unpacked wheel or an installed ``.dist-info``
- ``entry_points``: ``entry_points.txt`` and the names scripts and ``.data`` files
  may have (``check_installable``)
"""
