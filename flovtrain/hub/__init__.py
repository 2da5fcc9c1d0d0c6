"""A class on one machine: JupyterHub pieces for a room of attendees (``make hub``).

:mod:`flovtrain.hub.room` lays out an attendee's home (their workbook copy, their
``FLOVTRAIN_HOME``, their sandbox); :mod:`flovtrain.hub.auth` lets a room in with a workshop
code; :mod:`flovtrain.hub.spawner` starts each attendee's JupyterLab with their sandbox;
:mod:`flovtrain.hub.progress` is the instructor's view. Only ``auth``, ``spawner`` and
``progress`` import JupyterHub, and nothing here is imported by ``import flovtrain``.
"""
