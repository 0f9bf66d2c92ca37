"""The server patches still face the upstream code they were written against.

``pace/daphne_patches`` replaces or leans on private parts of daphne, Twisted and
autobahn (and, for the page fast path and the sync chain, Django's ASGI handler and
middleware). An upgrade can change them without any test of ours noticing until a
live race runs slower or drops sockets. So: the installed versions must be the ones in
``WRITTEN_AGAINST``, and the source of every upstream function a patch replaces, wraps
or relies on must be the source it was written against (a sha256 of
``inspect.getsource``, recorded below).

When one fails: read the upstream change, re-check the patch named in the message
against it (and its docstring's measurements), record the new version or hash here,
and re-run ``make bench`` (BENCH=live for the WebSocket patches) before and after.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
from pathlib import Path
from typing import Any

import pytest

from pace.daphne_patches import WRITTEN_AGAINST

# patch module -> "module:qualified.name" of upstream code -> sha256 of its source.
RELIED_ON: dict[str, dict[str, str]] = {
    # Replaces tcp.Connection.write (Twisted's is ConnectionMixin.write, below), hands what
    # the socket did not take to it, and reads the buffers FileDescriptor keeps; wraps
    # daphne's factory's __init__; turns autobahn's colours off.
    "twisted_tcp": {
        "twisted.internet._newtls:ConnectionMixin.write": (
            "ea311df0946d3f997a11838e59692e33a6734dcd42a0f29b3331e7ad3ca8117a"
        ),
        "twisted.internet.abstract:FileDescriptor.__init__": (
            "6405435a8c04d4c93a9eafba2c3aed131bed02c3ef995fccc1949133328a0009"
        ),
        "twisted.internet.abstract:FileDescriptor.write": (
            "3e46c97fc173bc7e227065420969c27688f24903c27dcc165b63166a605d688c"
        ),
        "twisted.internet.abstract:FileDescriptor.doWrite": (
            "a986d7b1b1054e431495d50528824683fa7ebb1ffcf3e57333bdd6f37f603141"
        ),
        "twisted.internet.tcp:Connection.writeSomeData": (
            "2dd0d4209260b94e2c6c4e8a16e014346cb432e7d0bfa294f8fe9e1b8b008d26"
        ),
        "daphne.ws_protocol:WebSocketFactory.__init__": (
            "59c33925b848db0eae3f466d7e2c1abe2fe7dbeb742cc777cc92fb6a027752cd"
        ),
        "autobahn.websocket.protocol:WebSocketServerFactory.resetProtocolOptions": (
            "57350edd42da59584f1a444c17f2fc727135d69cb01fc520125af41df66979b4"
        ),
        "autobahn.websocket.protocol:WebSocketServerFactory.setProtocolOptions": (
            "59adf65f9d31561eff79df794a6e947c50a1a9089fe6fc83369d5a2604bb5f21"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._fail_connection": (
            "00c349e066d658bfd98e56f8405c9ec8160f065573ac64c1e497b6e12fd912eb"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._max_message_size_exceeded": (
            "6b5977afbff991c36a01b6de433f69d98e25f3c2f2d141f757f4bfc5f4cab0da"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._invalid_payload": (
            "1784316d7af3d95d3d20c8f1394bac146f660958bf00063fd86af612b2b5d067"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onAutoPingTimeout": (
            "5de3ae0af03e5bd3819eef8d1302739e0183515e09d80171bf30d46a350b9c2b"
        ),
        "autobahn.util:hl": ("f17ac08c2642c446f85f05a98c6c38ae1be1cc016f7924e5c56708473fb6370c"),
    },
    # Recognises daphne's send (partial(server.handle_reply, protocol)) and writes frames
    # the way daphne's serverSend and autobahn's sendMessage/sendFrame/sendData would,
    # reading autobahn's state and queue and Twisted's buffers.
    "outlet": {
        "daphne.server:Server.create_application": (
            "f1e300b4ecf636c85e1a66250e32af2ebb67728f01919678d43e80c794a79a87"
        ),
        "daphne.server:Server.handle_reply": (
            "9d9dbaea6de0657aab6d5eaa7e38781b5fd80924c5ddf334bada16aebed09413"
        ),
        "daphne.ws_protocol:WebSocketProtocol.handle_reply": (
            "5331423b1cf2016a7e68e20c357a9a81576a9a808ba8d5909bd103e2000f918e"
        ),
        "daphne.ws_protocol:WebSocketProtocol.serverSend": (
            "345f21330d2a18cefbbbb9e3ca9b41566a5de2f7cfbedf4089b459a5e52c4b05"
        ),
        "daphne.ws_protocol:WebSocketProtocol.serverClose": (
            "8302150efac698d62de45c277e79a177c67ae5ea3c4f437064000bbdb6545a7b"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._connectionMade": (
            "7ac58d8bb6c3c752dc6753e09d2358573a2a47da90275e962830af0600fdf077"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.sendMessage": (
            "048d6bcf0d71230997c4b4225086c891ed1247eed9307e58546b1bfb5b174443"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.sendFrame": (
            "89cc8b024c413aa09943880cb5bcf0667bc2cce07b6cb3c9c864bba04fe9e659"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.sendData": (
            "5dcca425b048b07eb27d56a625a790d7a8e48fbe958753074cb1e55e174b2423"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._trigger": (
            "6d0fe6d643eef9d9c95aa75e44a1394c9481657cf9fa22e0df5fb4aa8840a754"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._send": (
            "48ce263820614888cafb7f87948d30187ab86f59e6bf87d9bfc13b1192060d86"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.sendCloseFrame": (
            "a511406d6b0d711e81f5067e322de0f628437b9f9dac0c74a001bc19c482b9fc"
        ),
        "twisted.internet.abstract:FileDescriptor.write": (
            "3e46c97fc173bc7e227065420969c27688f24903c27dcc165b63166a605d688c"
        ),
    },
    # Answers in place of Django's handler with the response Django would give: its
    # request, its response sending, its cache reads and the request and response halves
    # of the middleware it mirrors (RUN).
    "fastpath": {
        "django.core.handlers.asgi:ASGIHandler.handle": (
            "98faeb5bef800331e6a8002fbc96b30e4122a23438ae45a047190a531ea11323"
        ),
        "django.core.handlers.asgi:ASGIHandler.create_request": (
            "5eae59c6696013ffad47c3c05da5820dc7e17b2a3c8a09f59e12fd9bede5dc4f"
        ),
        "django.core.handlers.asgi:ASGIHandler.send_response": (
            "77eda2b08689b44ee277c936092bde02e50f84727f7398480a127e7e9e1dad06"
        ),
        "django.core.handlers.asgi:ASGIRequest.__init__": (
            "5ff1464df4bf995e78cfc6ca2590fe9166c6565dee93a37020dba88f2c9c7bc0"
        ),
        "django.core.cache.backends.base:BaseCache.make_key": (
            "be82d3a1ee326481c4158ec9bf487156860479f962aaffc3c4e1fb134910148b"
        ),
        "django.core.cache.backends.base:BaseCache.get_many": (
            "c5f82c81d7b8abcb04c560697eb4ed5848f8abe249d1faa399146eb091354424"
        ),
        "django.core.cache.backends.locmem:LocMemCache.get": (
            "3f4add2bc2e57bd17c1843ec808fade7140bacc5e2966141a5725c2e61c02c62"
        ),
        "django.core.cache.backends.redis:RedisCacheClient.get_many": (
            "fdfe5b085f3473ae45798715763c4963d69e20d0f26acef04f7d6c9cf1898d93"
        ),
        "django.core.cache.backends.redis:RedisSerializer.loads": (
            "8a83ee3cf3a5fcc779495fb923d7dcf6e4db191b3b96d224f513afa9bbb80595"
        ),
        "django.middleware.security:SecurityMiddleware.process_request": (
            "3373d262748cbe3ebf773432c2d3661231fade68467b673b1cde6f32a1ab2027"
        ),
        "django.middleware.security:SecurityMiddleware.process_response": (
            "3822bd0d5f79f4a3760ccfedc88f297d450e340c76cc9d926539fe6164b59a98"
        ),
        "django.contrib.sessions.middleware:SessionMiddleware.process_request": (
            "6782d24847e4a9267ad523e25487d5366241c7b7c2f0c90fe71c233b74af80aa"
        ),
        "django.contrib.sessions.middleware:SessionMiddleware.process_response": (
            "fbaf5503c20d7dd09b0917969f49541a469fb48ca8f7867d97da879e9ca9bf79"
        ),
        "django.middleware.common:CommonMiddleware.process_request": (
            "993f4d1f2084e01e0d2c8b96a2b122b17a187170cf8749bf890111689d17096f"
        ),
        "django.middleware.common:CommonMiddleware.process_response": (
            "eb5ad294e9fbda9bd84e0800e5d3b6f001ceb5f5dd2e01bf7381530b7ce16e6a"
        ),
        "django.middleware.csrf:CsrfViewMiddleware.process_request": (
            "9aec8dfd81c88a564457a508ed33a5f30cb54ba26ecba10b18a849f7c3ff5174"
        ),
        "django.middleware.csrf:CsrfViewMiddleware.process_response": (
            "9fe1054c0f64b37f7a2afa82d748ec4b62259e745e69974381b82917380a6c7a"
        ),
        "django.contrib.auth.middleware:AuthenticationMiddleware.process_request": (
            "6dd39b90ad6373e2c7d5b0ceda543c912360da9e1daf5766c3ca9b090e8675e6"
        ),
        "django.middleware.clickjacking:XFrameOptionsMiddleware.process_response": (
            "045e5788270860c67495f3749df26a405900ef54018858cf78a013692b61d926"
        ),
        # pace.lib.compression.PublicGZipMiddleware repeats its compressing half.
        "django.middleware.gzip:GZipMiddleware.process_response": (
            "6bd0b6187b78782f5ddd6b9130c734e82618cc83712f316db034e644a9e9909d"
        ),
    },
    # Formats autobahn's per-connection options dump lazily (the module's pformat); answers
    # daphne's pending handshake itself (failHandshake with headers) and removes daphne's
    # deferred, which only serverReject and the handshake timeout read.
    "handshake": {
        "autobahn.websocket.protocol:WebSocketProtocol._connectionMade": (
            "7ac58d8bb6c3c752dc6753e09d2358573a2a47da90275e962830af0600fdf077"
        ),
        "autobahn.websocket.protocol:WebSocketServerProtocol.failHandshake": (
            "354c2c03cca517fbf0c2750a31134a2dc6a1932f5d5c17a08d0323fdefd7b11d"
        ),
        "autobahn.websocket.protocol:WebSocketServerProtocol.sendHttpErrorResponse": (
            "cea44d9c8accd7df0ce4a01c9a1306cd6549aae3fb9659f76f9873ba812bd7e2"
        ),
        "daphne.ws_protocol:WebSocketProtocol.serverReject": (
            "7166e95b99f2a316d5a1a1f07434e1af9714b7864c64f9c261a029a7beac5553"
        ),
        "daphne.ws_protocol:WebSocketProtocol.check_timeouts": (
            "0e2ee6816a93a598d1fa50782417ae1126bf16ef86d8c718aac7e92c4f692e8e"
        ),
    },
    # Reads whole text frames in autobahn's place while its reader holds nothing, and hands
    # it the rest: its reader's entry points and state (the buffer, the frame and message in
    # progress), the frame and message checks it must match, the auto-ping rule on incoming
    # traffic, and daphne's onMessage, whose queueing it repeats.
    "inbound": {
        "autobahn.twisted.websocket:WebSocketAdapterProtocol.dataReceived": (
            "7997f762de21843361fe9d6bc8df40f6517cafe310d76eb61b292aa8cecf9661"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._dataReceived": (
            "b6616694f9d65410088d19b4bdbdb0bcdda244bf7b9728182b73327fea577129"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.processData": (
            "25b9c1387a46ab258a5ead2b4837253bb3582c51883ee3d70497e4eaa89e00f2"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onFrameBegin": (
            "9537027007767ae495d07103c89090c7ec80abe69f904b0c57bc7ee5dafbd8a3"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onFrameData": (
            "b39b40e3d17022738f71777d79f18c6eabb8cafdc061bff5354fa974a6423a38"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onFrameEnd": (
            "c45a45b9bf3334175aaa329ca90a6c6e3c2e12b8a040076d800f80d2a4f59d88"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onMessageBegin": (
            "1c5cb3b3e3eb227b6fa33a417b4871a402efbfe6d44feee2a3f6b7b4606d8acf"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onMessageFrameBegin": (
            "68c4eae4de95e1fbf9a932f8e5bc8b7262120f1a37c104c7ebbd18c3a5d731e7"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol.onMessageEnd": (
            "efff2a43ca8540d0dabcd5755f67d209532b8c8a2ec3dd4429ac2fb8257b63d1"
        ),
        "autobahn.websocket.protocol:WebSocketProtocol._cancelAutoPingTimeoutCall": (
            "4e4db79d874d8c061b73337ef48c28effcf07cf86660541fff29f6d326d102aa"
        ),
        "daphne.ws_protocol:WebSocketProtocol.onMessage": (
            "826cc86d0e2aeef037a1cf6448a02cc79565e485f39dbff3cbfc019141fee0a8"
        ),
    },
    # Builds Django's chain in sync mode under ASGI (load_middleware, adapting each
    # middleware; _get_response innermost) and hands it to ASGIHandler, which awaits
    # it from get_response_async in a ThreadSensitiveContext per request.
    "syncchain": {
        "django.core.handlers.base:BaseHandler.load_middleware": (
            "a1fb7ee5f8586195da2174d1bbc2bbfc7ca19b9d26ea66412cb434f45bf6d467"
        ),
        "django.core.handlers.base:BaseHandler.adapt_method_mode": (
            "1f6383b647ac29590cd04274e8e5e2b356397ee26f8ea81d9a83ac905277283f"
        ),
        "django.core.handlers.base:BaseHandler.get_response_async": (
            "ad82c920df0cebbb52b1ebafe6ab8b5541f200c39fa954a148b01f60725b715b"
        ),
        "django.core.handlers.base:BaseHandler._get_response": (
            "ec767cf1bf0296fa9ae612d72489ac67023aaafb9a4d3a9f22ec76bf98b15047"
        ),
        "django.core.handlers.asgi:ASGIHandler.__init__": (
            "41379d4f4b69f900b62a201a442d0721c965e26906a6a64f11c8b846bf3b3a38"
        ),
        "django.core.handlers.asgi:ASGIHandler.handle": (
            "98faeb5bef800331e6a8002fbc96b30e4122a23438ae45a047190a531ea11323"
        ),
        # Wrapped to note their tasks, which handle() cancels when it is cancelled.
        "django.core.handlers.asgi:ASGIHandler.listen_for_disconnect": (
            "c729aa315c734f98cc8a6460d75adcae548e97549b6600388666fbbf6fcba2a9"
        ),
        "django.core.handlers.asgi:ASGIHandler.run_get_response": (
            "0234ea5fe09a577785a5f895752910cbb439f5e28ebb53bdd27247251c00e6ef"
        ),
    },
    # Replaces daphne's two sweeps (application_checker's rules and warning repeated for the
    # connections recorded as they change; timeout_checker's walk by a heap of the
    # deadlines WebSocketProtocol.check_timeouts compares with, which onConnect sets after
    # protocol_connected); wraps protocol_connected, protocol_disconnected (serverReject
    # calls it) and create_application; Server.run arms the sweeps; WebRequest's check
    # does nothing without http_timeout.
    "sweeps": {
        "daphne.server:Server.protocol_connected": (
            "3fe5af10e11e8ad79cc2a02bcd398ee99d141fe66442d56c9c9fddba2c9d6225"
        ),
        "daphne.server:Server.protocol_disconnected": (
            "c1f5fe8cdedc09dce1531ec21751083fd33ec723d856a491752667d3ae3811b5"
        ),
        "daphne.server:Server.create_application": (
            "f1e300b4ecf636c85e1a66250e32af2ebb67728f01919678d43e80c794a79a87"
        ),
        "daphne.server:Server.application_checker": (
            "ccb688341a7d0bc13647a7d86815adb6a88af08299e4b0460379ea4d55ade79d"
        ),
        "daphne.server:Server.timeout_checker": (
            "6b70373a3a77cb2b1c580905af57d9c1c7ae09e7608c0677b8209e7bffe5b4cb"
        ),
        "daphne.server:Server.run": (
            "447c6bd42c62e98cda21fbd603a045ff72abbccabd2b234d8b40c18d366cb7db"
        ),
        "daphne.ws_protocol:WebSocketProtocol.check_timeouts": (
            "0e2ee6816a93a598d1fa50782417ae1126bf16ef86d8c718aac7e92c4f692e8e"
        ),
        "daphne.ws_protocol:WebSocketProtocol.onConnect": (
            "b1ce2efc1874b9b5835b9e5741fa0aab39740e98ef0f0aaa80c5c3e2f50a8bc7"
        ),
        "daphne.ws_protocol:WebSocketProtocol.serverReject": (
            "7166e95b99f2a316d5a1a1f07434e1af9714b7864c64f9c261a029a7beac5553"
        ),
        "daphne.http_protocol:WebRequest.check_timeouts": (
            "7b4cb58efcf70e8d48f344401f5f8560d2a3071a0cc37e99f5c4ee230eb73f6f"
        ),
    },
    # Makes daphne's HTTPFactory.log (Twisted's, called from Request.finish) write no
    # line: daphne's logging set-up (Server.run) never shows it, and its own access log
    # (set up in CommandLineInterface.run) has the request.
    "accesslog": {
        "daphne.http_protocol:HTTPFactory.log": (
            "e9acff05b9a51cb7969f31f53a741a220573acf4ff1c19b8e8ceaaa1974ab93e"
        ),
        "twisted.web.http:HTTPFactory.startFactory": (
            "7e8ca54bce4af67901766fc9bcef9780874e0813b20e9e318775d2cfd50ac92c"
        ),
        "twisted.web.http:Request.finish": (
            "4590c5f7e2207ef0e035118592a49d0e94da0dd941a1530d34f0c49db1dd1926"
        ),
        "daphne.server:Server.run": (
            "447c6bd42c62e98cda21fbd603a045ff72abbccabd2b234d8b40c18d366cb7db"
        ),
        "daphne.cli:CommandLineInterface.run": (
            "039cb21244f402acc5b5030e7133ac2b4a11c1e399b72269bc494dcdcf1d2677"
        ),
    },
    # Replaces HTTPChannel's answers to a request head it will not read (a line over
    # MAX_LENGTH: LineReceiver's lineLengthExceeded; a bad or oversized head:
    # _respondToBadRequestAndDisconnect), called from the readers below.
    "httphead": {
        "twisted.protocols.basic:LineReceiver.dataReceived": (
            "6f773dd6b423a27928fee3716933b12a479add901cee3d494acb9e0d7abcd0d8"
        ),
        "twisted.web.http:HTTPChannel.lineLengthExceeded": (
            "0cb67c8ef953bcb8d412ad1eba052e6ee6f486deae691ab5fcbe27776423d5e8"
        ),
        "twisted.web.http:HTTPChannel.lineReceived": (
            "b77ec6f21116e82766439c07df79063430a8e963b4d1cfe8460ceb1ddc7b2c37"
        ),
        "twisted.web.http:HTTPChannel._respondToBadRequestAndDisconnect": (
            "c7ccc0f4450a7d6b1fc41cf79bc17092c2331c2ef812b94403e805258ba7ff48"
        ),
        "twisted.web.http:HTTPChannel.headerReceived": (
            "c5cb8e0dd2fe0b44868a7108763f627e84cb4410ed6143283842ec12ddd27b19"
        ),
    },
}
# gctune.py calls only CPython's gc: nothing upstream to pin beyond the versions.


def _upstream(target: str) -> Any:
    """The object ``target`` names, as upstream wrote it (our wrappers unwrapped)."""
    module, qualname = target.split(":")
    found: Any = importlib.import_module(module)
    for name in qualname.split("."):
        found = getattr(found, name)
    return inspect.unwrap(found)


def source_digest(target: str) -> str:
    return hashlib.sha256(inspect.getsource(_upstream(target)).encode()).hexdigest()


@pytest.mark.parametrize(("dist", "version"), sorted(WRITTEN_AGAINST.items()))
def test_it_runs_the_versions_the_patches_were_written_against(dist: str, version: str) -> None:
    installed = importlib.metadata.version(dist)
    assert installed == version, (
        f"{dist} {installed} is installed, pace/daphne_patches was written against {version}: "
        f"re-check every patch that names {dist} in this file, update WRITTEN_AGAINST "
        "(and the patches' docstrings), and re-run make bench"
    )


@pytest.mark.parametrize(
    ("patch", "target", "recorded"),
    [
        (patch, target, digest)
        for patch, found in RELIED_ON.items()
        for target, digest in found.items()
    ],
)
def test_it_finds_the_upstream_code_unchanged(patch: str, target: str, recorded: str) -> None:
    actual = source_digest(target)
    assert actual == recorded, (
        f"{target} is not the code pace/daphne_patches/{patch}.py was written against "
        f"(sha256 {actual}, recorded {recorded}): re-check {patch}.py against the change, "
        "record the new hash here, and re-run make bench"
    )


def test_it_replaces_the_write_twisted_connections_inherit() -> None:
    """``twisted_tcp`` sets ``tcp.Connection.write``; what it replaces (and falls back to) is
    the first ``write`` of the class's bases, Twisted's ``ConnectionMixin.write``."""
    from twisted.internet import _newtls, tcp

    inherited = next(base for base in tcp.Connection.__mro__[1:] if "write" in vars(base))
    assert inherited is _newtls.ConnectionMixin


def test_it_finds_the_flags_and_states_the_patches_set_or_read() -> None:
    """Names that are not functions: setting or reading one that upstream renamed would
    silently do nothing."""
    import autobahn.util
    from autobahn.websocket.protocol import WebSocketProtocol

    assert isinstance(autobahn.util._HAS_CLICK, bool)  # twisted_tcp turns it off
    assert WebSocketProtocol.STATE_OPEN == 3  # outlet reads protocol.state
    from twisted.web.http import HTTPChannel

    # httphead reads these: the request line not yet read, the head's size and count.
    assert HTTPChannel._HTTPChannel__first_line == 1  # type: ignore[attr-defined]
    assert HTTPChannel._receivedHeaderSize == 0 == HTTPChannel._receivedHeaderCount
    assert (HTTPChannel.MAX_LENGTH, HTTPChannel.totalHeadersSize) == (16384, 16384)


@pytest.mark.parametrize(
    "patch",
    [
        "twisted_tcp",
        "outlet",
        "fastpath",
        "syncchain",
        "gctune",
        "handshake",
        "inbound",
        "httphead",
        "accesslog",
        "sweeps",
    ],
)
def test_it_names_the_versions_in_every_patch(patch: str) -> None:
    """A reader of a patch sees what it was written against, the same as the test checks."""
    doc = " ".join((importlib.import_module(f"pace.daphne_patches.{patch}").__doc__ or "").split())
    versions = "daphne {daphne} / Twisted {twisted} / autobahn {autobahn}".format(**WRITTEN_AGAINST)
    assert f"Written against {versions}; checked by pace/tests/{Path(__file__).name}" in doc


def test_the_handshake_patch_formats_autobahns_options_dump_as_before_only_when_read() -> None:
    from pprint import pformat

    from autobahn.websocket import protocol

    from pace.daphne_patches import handshake

    handshake.install()
    options = [("openHandshakeTimeout", 5, "WebSocketServerFactory")] * 3
    assert f"{protocol.pformat(options)}" == pformat(options)  # type: ignore[attr-defined]
    assert str(protocol.Timings()) == pformat({})
