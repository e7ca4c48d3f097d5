"""Channel data modelled on a real call, so simulated events look and weigh like FreeSWITCH's.

Everything here was transcribed from ``outbound_basic.txt`` (FreeSWITCH
1.10.12, a SIPp caller on mod_sofia's ``internal`` profile, routed from the
``public`` context to ``<dest> XML default``, answered, then handed to
``socket``), with the call-specific values turned into ``{placeholders}``.
The variables come in the phases FreeSWITCH sets them in -- the INVITE, early
media, answer, and the ACK of the 200 OK -- and a channel applies each phase
in order, so variable order and event sizes (4-9 KB) match real ones.
"""

from __future__ import annotations

import random
import time
import uuid as uuidlib
from collections.abc import Mapping

CALLER_HOST = "127.0.0.1"
CALLER_PORT = 5070
SWITCH_PORT = 5060

_REMOTE_SDP = (
    "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
)
_LOCAL_SDP = (
    "v=0\r\no=FreeSWITCH 1795321556 1795321557 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\n"
    "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {media_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
)

#: Variables the channel has when the dialplan starts on it (INVITE, routing,
#: then the transfer from ``public`` to ``default``).
INVITE_VARIABLES = (
    ("direction", "inbound"),
    ("uuid", "{uuid}"),
    ("session_id", "{session_id}"),
    ("sip_from_user", "{cid_number}"),
    ("sip_from_port", "5070"),
    ("sip_from_uri", "{cid_number}@127.0.0.1:5070"),
    ("sip_from_host", "127.0.0.1"),
    ("video_media_flow", "disabled"),
    ("audio_media_flow", "disabled"),
    ("text_media_flow", "disabled"),
    ("channel_name", "{channel_name}"),
    ("sip_call_id", "{call_id}"),
    ("sip_local_network_addr", "127.0.0.1"),
    ("sip_network_ip", "127.0.0.1"),
    ("sip_network_port", "5070"),
    ("sip_invite_stamp", "{created_us}"),
    ("sip_received_ip", "127.0.0.1"),
    ("sip_received_port", "5070"),
    ("sip_via_protocol", "udp"),
    ("sip_authorized", "true"),
    ("sip_acl_authed_by", "domains"),
    ("sip_from_user_stripped", "{cid_number}"),
    ("sip_from_tag", "{from_tag}"),
    ("sofia_profile_name", "internal"),
    ("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5060"),
    ("recovery_profile_name", "internal"),
    ("sip_full_via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{branch}-1-0"),
    ("sip_from_display", "{cid_name}"),
    ("sip_full_from", '"{cid_name}" <sip:{cid_number}@127.0.0.1:5070>;tag={from_tag}'),
    ("sip_full_to", "<sip:{dest}@127.0.0.1:5060>"),
    ("sip_req_user", "{dest}"),
    ("sip_req_port", "5060"),
    ("sip_req_uri", "{dest}@127.0.0.1:5060"),
    ("sip_req_host", "127.0.0.1"),
    ("sip_to_user", "{dest}"),
    ("sip_to_port", "5060"),
    ("sip_to_uri", "{dest}@127.0.0.1:5060"),
    ("sip_to_host", "127.0.0.1"),
    ("sip_contact_user", "{cid_number}"),
    ("sip_contact_port", "5070"),
    ("sip_contact_uri", "{cid_number}@127.0.0.1:5070"),
    ("sip_contact_host", "127.0.0.1"),
    ("rtp_use_codec_string", "PCMU,PCMA"),
    ("sip_subject", "fsrouter-sim"),
    ("sip_via_host", "127.0.0.1"),
    ("sip_via_port", "5070"),
    ("presence_id", "{cid_number}@127.0.0.1"),
    ("switch_r_sdp", _REMOTE_SDP),
    ("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"),
    ("endpoint_disposition", "DELAYED NEGOTIATION"),
    ("DP_MATCH", "ARRAY::{dest}|:{dest}"),
    ("call_uuid", "{uuid}"),
    ("max_forwards", "69"),
    ("transfer_history", "{transfer_source}"),
    ("transfer_source", "{transfer_source}"),
)

#: Set when media is established (early media, or answer without it).
MEDIA_VARIABLES = (
    ("rtp_use_codec_string", "PCMU,PCMA"),
    ("remote_video_media_flow", "inactive"),
    ("remote_text_media_flow", "inactive"),
    ("remote_audio_media_flow", "sendrecv"),
    ("audio_media_flow", "sendrecv"),
    ("rtp_audio_recv_pt", "0"),
    ("rtp_use_codec_name", "PCMU"),
    ("rtp_use_codec_rate", "8000"),
    ("rtp_use_codec_ptime", "20"),
    ("rtp_use_codec_channels", "1"),
    ("rtp_last_audio_codec_string", "PCMU@8000h@20i@1c"),
    ("read_codec", "PCMU"),
    ("original_read_codec", "PCMU"),
    ("read_rate", "8000"),
    ("original_read_rate", "8000"),
    ("write_codec", "PCMU"),
    ("write_rate", "8000"),
    ("dtmf_type", "rfc2833"),
    ("local_media_ip", "127.0.0.1"),
    ("local_media_port", "{media_port}"),
    ("advertised_media_ip", "127.0.0.1"),
    ("rtp_use_timer_name", "soft"),
    ("rtp_use_pt", "0"),
    ("rtp_use_ssrc", "{ssrc}"),
    ("rtp_2833_send_payload", "101"),
    ("rtp_2833_recv_payload", "101"),
    ("remote_media_ip", "127.0.0.1"),
    ("remote_media_port", "6000"),
    ("endpoint_disposition", "EARLY MEDIA"),
    ("rtp_local_sdp_str", _LOCAL_SDP),
)

ANSWER_VARIABLES = (("endpoint_disposition", "ANSWER"),)

#: Set when the caller ACKs the 200 OK (mod_sofia re-reads the dialog).
ACK_VARIABLES = (
    ("sip_to_tag", "{to_tag}"),
    ("sip_from_tag", "{from_tag}"),
    ("sip_cseq", "1"),
    ("sip_call_id", "{call_id}"),
    ("sip_full_via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{branch}-1-5"),
    ("sip_from_display", "{cid_name}"),
    ("sip_full_from", '"{cid_name}" <sip:{cid_number}@127.0.0.1:5070>;tag={from_tag}'),
    ("sip_full_to", "<sip:{dest}@127.0.0.1:5060>;tag={to_tag}"),
)

#: The caller profile as switch_caller_profile_event_set_data writes it
#: (prefix ``Caller-``); ``{answered_us}`` etc. are 0 until they happen.
CALLER_PROFILE = (
    ("Direction", "inbound"),
    ("Logical-Direction", "inbound"),
    ("Username", "{cid_number}"),
    ("Dialplan", "XML"),
    ("Caller-ID-Name", "{cid_name}"),
    ("Caller-ID-Number", "{cid_number}"),
    ("Orig-Caller-ID-Name", "{cid_name}"),
    ("Orig-Caller-ID-Number", "{cid_number}"),
    ("Network-Addr", "127.0.0.1"),
    ("ANI", "{cid_number}"),
    ("Destination-Number", "{dest}"),
    ("Unique-ID", "{uuid}"),
    ("Source", "mod_sofia"),
    ("Transfer-Source", "{transfer_source}"),
    ("Context", "{context}"),
    ("RDNIS", "{rdnis}"),
    ("Channel-Name", "{channel_name}"),
    ("Profile-Index", "{profile_index}"),
    ("Profile-Created-Time", "{profile_created_us}"),
    ("Channel-Created-Time", "{created_us}"),
    ("Channel-Answered-Time", "{answered_us}"),
    ("Channel-Progress-Time", "{progress_us}"),
    ("Channel-Progress-Media-Time", "{progress_media_us}"),
    ("Channel-Hangup-Time", "{hangup_us}"),
    ("Channel-Transfer-Time", "{transfer_us}"),
    ("Channel-Resurrect-Time", "0"),
    ("Channel-Bridged-Time", "0"),
    ("Channel-Last-Hold", "0"),
    ("Channel-Hold-Accum", "0"),
    ("Screen-Bit", "true"),
    ("Privacy-Hide-Name", "false"),
    ("Privacy-Hide-Number", "false"),
)

#: The codec block events carry once media is up.
CODEC_HEADERS = (
    ("Channel-Read-Codec-Name", "PCMU"),
    ("Channel-Read-Codec-Rate", "8000"),
    ("Channel-Read-Codec-Bit-Rate", "64000"),
    ("Channel-Write-Codec-Name", "PCMU"),
    ("Channel-Write-Codec-Rate", "8000"),
    ("Channel-Write-Codec-Bit-Rate", "64000"),
)

def call_identity(uuid: str, cid_number: str, cid_name: str, dest: str, created_us: int,
                  session_id: int, rng: random.Random) -> dict[str, str]:
    """The placeholder values of one simulated call (random ones drawn from `rng`)."""
    channel_name = f"sofia/internal/{cid_number}@{CALLER_HOST}:{CALLER_PORT}"
    branch = rng.randrange(10_000, 99_999)
    return {
        "uuid": uuid,
        "session_id": str(session_id),
        "cid_number": cid_number,
        "cid_name": cid_name,
        "dest": dest,
        "channel_name": channel_name,
        "call_id": f"{session_id}-{branch}@{CALLER_HOST}",
        "created_us": str(created_us),
        "from_tag": f"{branch}SIPpTag00{session_id % 10}",
        "to_tag": f"{rng.getrandbits(48):012x}",
        "branch": str(branch),
        "media_port": str(rng.randrange(16384, 32768, 2)),
        "ssrc": str(rng.randrange(1, 2**32)),
        "transfer_source": f"{created_us // 1_000_000}:{uuidlib.UUID(int=rng.getrandbits(128), version=4)}"
                           f":bl_xfer:{dest}/default/XML",
    }


def cdr_variables(identity: Mapping[str, str], answered_us: int, end_us: int, last_app: str | None,
                  caller_hung_up: bool) -> list[tuple[str, str | None]]:
    """The CDR variables FreeSWITCH adds in CS_REPORTING (a subset, in its order)."""
    created = int(identity["created_us"])
    spans = {"duration": end_us - created,
             "billsec": end_us - answered_us if answered_us else 0,
             "answersec": answered_us - created if answered_us else 0}
    pairs = [("start_stamp", _stamp(created)), ("answer_stamp", _stamp(answered_us) if answered_us else None),
             ("end_stamp", _stamp(end_us)), ("start_epoch", str(created // 1_000_000)),
             ("start_uepoch", str(created)), ("answer_epoch", str(answered_us // 1_000_000)),
             ("answer_uepoch", str(answered_us)), ("end_epoch", str(end_us // 1_000_000)),
             ("end_uepoch", str(end_us)), ("last_app", last_app),
             ("caller_id", f'"{identity["cid_name"]}" <{identity["cid_number"]}>')]
    pairs += [(name, str(usec // 1_000_000)) for name, usec in spans.items()]
    pairs += [(name.replace("sec", "msec").replace("duration", "mduration"), str(usec // 1000))
              for name, usec in spans.items()]
    pairs += [(name.replace("sec", "usec").replace("duration", "uduration"), str(usec))
              for name, usec in spans.items()]
    pairs.append(("sip_hangup_disposition", "recv_bye" if caller_hung_up else "send_bye"))
    return pairs


def _stamp(wall_us: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall_us / 1_000_000))


def render(pairs: tuple[tuple[str, str], ...], values: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(name, value.format_map(values)) for name, value in pairs]
