"""FreePBX integration: wiring extensions' destinations, our dialplan block, legacy takeover.

FreePBX owns its database and its generated dialplan; everything here changes
as little of either as it can, keeps what it replaced, and says exactly what
state the PBX is in when something goes wrong.
"""
