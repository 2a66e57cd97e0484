#!/usr/bin/env python3
"""An HTTP proxy between shipfront and the S3 emulator, for tests and benchmarks.

It behaves like S3 where the emulator does not (it rejects a write whose body does not match its
Content-MD5 with 400 BadDigest; it answers ListObjectVersions with encoding-type=url as S3 does,
the keys and markers URL-encoded, where the emulator ignores the parameter and writes a key with
a control character as it is, which XML cannot carry), counts requests by kind, and injects
faults on demand:

  --fail-rate R   answer this share of writes with 503 SlowDown, without forwarding them
  --drop-rate R   forward this share of writes, then close the connection without answering
  --deny          answer every request with 403 AccessDenied, as S3 does for a bucket policy
                  or IAM policy that denies the caller
  --reject-first N --reject-match TEXT --reject-code CODE
                  answer the first N requests whose path contains TEXT with a 400 CloudFront-style
                  error CODE (e.g. TooManyInvalidationsInProgress), without forwarding them
  --drop-first N --drop-match TEXT
                  forward the first N writes whose path contains TEXT, then close the connection
                  without answering (a write that landed but whose answer was lost)
  --functions     stand in for CloudFront Functions, which the emulator lacks in part (no
                  UpdateFunction, no PublishFunction, no function associations): create, update,
                  publish and get functions here, with ETags as CloudFront checks them, and keep
                  the default cache behavior's viewer-request association across
                  UpdateDistribution and GetDistributionConfig (the rest goes to the emulator);
                  likewise response headers policies, which the emulator lacks: create, get,
                  list and update them (under their ETag) here, and keep the default cache
                  behavior's ResponseHeadersPolicyId
  --kvs           stand in for the CloudFront KeyValueStore data plane, which the emulator lacks
                  (it has the control plane): DescribeKeyValueStore, GetKey and UpdateKeys on
                  /key-value-stores/ARN, in memory, with an ETag that changes on every write;
                  UpdateKeys whose If-Match is not the store's ETag answers 409 ConflictException,
                  a missing key 404 ResourceNotFoundException, as CloudFront documents
  --read-fault KIND --read-match TEXT
                  spoil every object read (GET of a key, not a listing) whose path contains TEXT,
                  as a misbehaving origin or cache would: `content-type` answers it with
                  Content-Type text/plain, `503` answers 503 SlowDown without forwarding,
                  `missing` answers 404 NoSuchKey
  --delay-ms N    wait N ms before forwarding each request (requests in flight wait at the same
                  time): a stand-in for S3's round trip, which the local emulator lacks
  --hold-after N  let N writes through, then hold every later write until the proxy exits,
                  printing "held" on stdout once (so a test can kill the client at that point);
                  with --hold-match TEXT, only the later writes whose path contains TEXT

On start it prints "listening on PORT". GET /__stats returns the counts (and bytes_sent, the
request body bytes; list_start_after, the list requests that start after a key; list_versions
and list_versions_after, the ListObjectVersions requests and those starting after a key (a
key marker without a version marker); list_chain, the
longest run of list requests that each continued the page before it, read from the continuation
tokens and version markers the emulator answered; list_busy_ms, the milliseconds
during which at least one list request was at the emulator, the emulator's own listing work
however many were asked for at once) as JSON.
"""
import argparse
import base64
import re
import xml.etree.ElementTree as ET
import hashlib
import http.client
import json
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from html import unescape
from urllib.parse import urlsplit, parse_qs, quote

lock = threading.Lock()
stats = {}
# Continuation token (or version markers) answered by a list page -> how many pages, one after
# another, led to it (the fewest, when two pages answer the same one).
page_depth = {}
# List requests at the emulator now, and since when at least one has been.
lists_in_flight = 0
lists_busy_since = 0.0
writes_seen = 0
held_announced = False
hold_forever = threading.Event()


def bump(name, n=1):
    with lock:
        stats[name] = stats.get(name, 0) + n


def kind(method, path):
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    bucket_level = urlsplit(path).path.count("/") <= 1
    if method == "GET" and ("list-type" in query or "versions" in query or (bucket_level and "versioning" not in query)):
        return "list"
    if method == "PUT" and "partNumber" in query:
        return "upload_part"
    if method == "POST" and "uploads" in query:
        return "create_multipart"
    if method == "POST" and "uploadId" in query:
        return "complete_multipart"
    if method == "DELETE" and "uploadId" in query:
        return "abort_multipart"
    if method == "POST" and "delete" in query:
        return "delete_objects"
    if method == "PUT":
        return "put"
    if method == "GET":
        return "get"
    if method == "HEAD":
        return "head"
    return method.lower()


WRITES = {"put", "upload_part", "create_multipart", "complete_multipart", "delete_objects", "delete", "abort_multipart"}


NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
FUNCTIONS = {}  # name -> {"code": bytes, "live": bytes or None, "etag": int}
ASSOCIATIONS = {}  # distribution id -> {"function": viewer-request ARN, "policy": policy id}
POLICIES = {}  # response headers policy id -> {"config": XML text, "name": str, "etag": int}


def list_marker(query):
    """What a list request continues from, as page_depth keys it; None for a first page."""
    if "continuation-token" in query:
        return ("token", query["continuation-token"][0])
    if "version-id-marker" in query:
        return ("versions", query.get("key-marker", [""])[0], query["version-id-marker"][0])
    if "marker" in query and "list-type" not in query and "versions" not in query:
        return ("marker", query["marker"][0])
    return None


def list_started():
    global lists_in_flight, lists_busy_since
    with lock:
        if lists_in_flight == 0:
            lists_busy_since = time.perf_counter()
        lists_in_flight += 1


def list_ended():
    global lists_in_flight
    with lock:
        lists_in_flight -= 1
        if lists_in_flight == 0:
            busy = round((time.perf_counter() - lists_busy_since) * 1000)
            stats["list_busy_ms"] = stats.get("list_busy_ms", 0) + busy


def count_list_chain(path, data):
    """Follows one list page: its depth is one more than the page it continues."""
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    marker = list_marker(query)
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return
    values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root}
    if values.get("IsTruncated") == "true":
        if "NextContinuationToken" in values:
            answered = ("token", values["NextContinuationToken"])
        elif "NextVersionIdMarker" in values:
            answered = ("versions", values.get("NextKeyMarker", ""), values["NextVersionIdMarker"])
        else:  # ListObjects (version 1): the next page starts after NextMarker or the last key.
            keys = [c.text for c in root.iter() if c.tag.endswith("}Key") or c.tag == "Key"]
            answered = ("marker", values.get("NextMarker") or (keys[-1] if keys else ""))
    else:
        answered = None
    with lock:
        depth = page_depth.get(marker, 0) + 1 if marker else 1
        if answered:
            page_depth[answered] = min(depth, page_depth.get(answered, depth))
        stats["list_chain"] = max(stats.get("list_chain", 0), depth)


def function_summary(name, stage):
    f = FUNCTIONS[name]
    status = "DEPLOYED" if f["live"] is not None else "UNPUBLISHED"
    kvs = f["live_kvs"] if stage == "LIVE" else f["kvs"]
    associations = ""
    if kvs:
        associations = ('<KeyValueStoreAssociations><Quantity>1</Quantity><Items><KeyValueStoreAssociation>'
                        f'<KeyValueStoreARN>{kvs}</KeyValueStoreARN></KeyValueStoreAssociation></Items>'
                        '</KeyValueStoreAssociations>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><FunctionSummary xmlns="{NS}"><Name>{name}</Name>'
            f'<Status>{status}</Status><FunctionConfig><Comment>stub</Comment><Runtime>cloudfront-js-2.0</Runtime>'
            f'{associations}</FunctionConfig><FunctionMetadata><FunctionARN>arn:aws:cloudfront::123456789012:function/{name}'
            f'</FunctionARN><Stage>{stage}</Stage><CreatedTime>2026-01-01T00:00:00Z</CreatedTime>'
            f'<LastModifiedTime>2026-01-01T00:00:00Z</LastModifiedTime></FunctionMetadata></FunctionSummary>').encode()


def functions_stub(handler, body):
    """Answers a CloudFront Functions call; False when the request is not one."""
    path = urlsplit(handler.path)
    m = re.match(r"^/2020-05-31/function(?:/([^/]+))?(/publish|/describe)?$", path.path)
    if not m:
        return False
    name, publish = m.group(1), m.group(2) == "/publish"
    describe = m.group(2) == "/describe"
    bump("functions_" + handler.command.lower())

    def error(status, code):
        xml = (f'<?xml version="1.0"?><ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
               f'<Code>{code}</Code><Message>{code}</Message></Error></ErrorResponse>').encode()
        handler.reply(status, xml, [("Content-Type", "text/xml")])
        return True

    def answer(status, stage, etag_header="ETag"):
        etag = f'E{FUNCTIONS[name]["etag"]}'
        handler.reply(status, function_summary(name, stage), [("Content-Type", "text/xml"), (etag_header, etag)])
        return True

    if handler.command == "POST" and name is None:
        root = ET.fromstring(body)
        name = root.find(f"{{{NS}}}Name").text
        if name in FUNCTIONS:
            return error(409, "FunctionAlreadyExists")
        code = base64.b64decode(root.find(f"{{{NS}}}FunctionCode").text)
        FUNCTIONS[name] = {"code": code, "live": None, "etag": 1, "kvs": associated_kvs(root),
                           "live_kvs": None}
        return answer(201, "DEVELOPMENT")
    if name not in FUNCTIONS:
        return error(404, "NoSuchFunctionExists")
    f = FUNCTIONS[name]
    if handler.command in ("PUT", "POST") and handler.headers.get("If-Match") != f"E{f['etag']}":
        return error(412, "PreconditionFailed")
    if handler.command == "PUT":
        root = ET.fromstring(body)
        f["code"] = base64.b64decode(root.find(f"{{{NS}}}FunctionCode").text)
        f["kvs"] = associated_kvs(root)
        f["etag"] += 1
        # CloudFront's UpdateFunction names this header `ETtag` (sic), and the SDK reads that.
        return answer(200, "DEVELOPMENT", "ETtag")
    if handler.command == "POST" and publish:
        f["live"] = f["code"]
        f["live_kvs"] = f["kvs"]
        return answer(200, "LIVE")
    if handler.command == "GET" and describe:
        stage = parse_qs(path.query).get("Stage", ["DEVELOPMENT"])[0]
        if stage == "LIVE" and f["live"] is None:
            return error(404, "NoSuchFunctionExists")
        return answer(200, stage)
    if handler.command == "GET":
        stage = parse_qs(path.query).get("Stage", ["DEVELOPMENT"])[0]
        code = f["live"] if stage == "LIVE" else f["code"]
        if code is None:
            return error(404, "NoSuchFunctionExists")
        handler.reply(200, code, [("Content-Type", "application/octet-stream"), ("ETag", f"E{f['etag']}")])
        return True
    return error(400, "InvalidArgument")


def associated_kvs(root):
    """The KeyValueStore ARN a CreateFunction or UpdateFunction body associates, if any."""
    arn = root.find(f".//{{{NS}}}KeyValueStoreAssociation/{{{NS}}}KeyValueStoreARN")
    return arn.text if arn is not None else None


def url_encoded_versions(path, data):
    """A ListObjectVersions answer as S3 gives it for encoding-type=url: keys, markers and the
    prefix URL-encoded, and EncodingType said. The emulator ignores the parameter."""
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    if "versions" not in query or query.get("encoding-type") != ["url"] or b"<EncodingType>" in data:
        return data
    bump("versions_url_encoded")
    text = data.decode("utf-8")

    def encoded(m):
        return f"<{m.group(1)}>{quote(unescape(m.group(2)), safe='/')}</{m.group(1)}>"

    text = re.sub(r"<(Key|NextKeyMarker|KeyMarker|Prefix)>(.*?)</\1>", encoded, text, flags=re.S)
    text = text.replace("</Name>", "</Name><EncodingType>url</EncodingType>", 1)
    return text.encode("utf-8")


# KeyValueStores by ARN: {"etag": n, "items": {key: value}}.
kv_stores = {}
KVS_PATH = re.compile(r"^/key-value-stores/([^/?]+)(/keys(/([^?]*))?)?(\?.*)?$")


def kvs_stub(handler, body):
    """The KeyValueStore data plane (restJson1), in memory: True when it answered."""
    from urllib.parse import unquote
    m = KVS_PATH.match(handler.path)
    if not m:
        return False
    arn, keys, key = unquote(m.group(1)), m.group(2), m.group(4)
    bump("kvs_" + handler.command.lower())
    with lock:
        status, doc, error, etag = kvs_answer(handler, body, arn, keys, key)
    if error == "ConflictException":
        bump("kvs_conflicts")
    headers = [("Content-Type", "application/json"), ("ETag", etag)]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    handler.reply(status, json.dumps(doc).encode(), headers)
    return True


def kvs_answer(handler, body, arn, keys, key):
    """What the stand-in answers, with `lock` held: (status, document, error type, ETag)."""
    from urllib.parse import unquote
    store = kv_stores.setdefault(arn, {"etag": 1, "items": {}})
    counts = lambda: {"ItemCount": len(store["items"]),
                      "TotalSizeInBytes": sum(len(k) + len(v) for k, v in store["items"].items())}
    tag = lambda: "KV" + str(store["etag"])
    if handler.command == "GET" and not keys:
        return 200, dict(counts(), KvsARN=arn, Created=1700000000, Status="READY"), None, tag()
    if handler.command == "GET" and key is not None:
        key = unquote(key)
        if key not in store["items"]:
            return 404, {"message": f"Key {key} not found"}, "ResourceNotFoundException", tag()
        return 200, dict(counts(), Key=key, Value=store["items"][key]), None, tag()
    if handler.command == "POST" and keys and not key:
        if handler.headers.get("If-Match") != tag():
            return 409, {"message": "the ETag does not match"}, "ConflictException", tag()
        doc = json.loads(body or b"{}")
        for put in doc.get("Puts") or []:
            store["items"][put["Key"]] = put["Value"]
        for delete in doc.get("Deletes") or []:
            store["items"].pop(delete["Key"], None)
        store["etag"] += 1
        return 200, dict(counts(), ETag=tag()), None, tag()
    return 400, {"message": "not stood in for"}, "ValidationException", tag()


def policy_xml(policy_id):
    p = POLICIES[policy_id]
    return (f'<ResponseHeadersPolicy><Id>{policy_id}</Id><LastModifiedTime>2026-01-01T00:00:00Z'
            f'</LastModifiedTime>{p["config"]}</ResponseHeadersPolicy>')


def policy_config_of(body):
    """The ResponseHeadersPolicyConfig element of a request body, without its namespace."""
    text = body.decode()
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r'<ResponseHeadersPolicyConfig[^>]*>', "<ResponseHeadersPolicyConfig>", text, count=1)
    return text.strip(), ET.fromstring(body).find(f"{{{NS}}}Name").text


def policies_stub(handler, body):
    """Answers a response headers policy call; False when the request is not one."""
    path = urlsplit(handler.path)
    m = re.match(r"^/2020-05-31/response-headers-policy(?:/([^/]+))?$", path.path)
    if not m:
        return False
    policy_id = m.group(1)
    bump("policies_" + handler.command.lower())
    head = f'<?xml version="1.0" encoding="UTF-8"?>'

    def error(status, code):
        xml = (f'{head}<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
               f'<Code>{code}</Code><Message>{code}</Message></Error></ErrorResponse>').encode()
        handler.reply(status, xml, [("Content-Type", "text/xml")])
        return True

    def answer(status):
        xml = policy_xml(policy_id).replace("<ResponseHeadersPolicy>", f'<ResponseHeadersPolicy xmlns="{NS}">', 1)
        handler.reply(status, (head + xml).encode(),
                      [("Content-Type", "text/xml"), ("ETag", f'E{POLICIES[policy_id]["etag"]}')])
        return True

    if handler.command == "POST" and policy_id is None:
        config, name = policy_config_of(body)
        if any(p["name"] == name for p in POLICIES.values()):
            return error(409, "ResponseHeadersPolicyAlreadyExists")
        policy_id = f"rhp-{len(POLICIES) + 1:04d}"
        POLICIES[policy_id] = {"config": config, "name": name, "etag": 1}
        return answer(201)
    if handler.command == "GET" and policy_id is None:
        wanted = parse_qs(path.query).get("Type", ["custom"])[0]
        items = "".join(f"<ResponseHeadersPolicySummary><Type>custom</Type>{policy_xml(i)}</ResponseHeadersPolicySummary>"
                        for i in POLICIES) if wanted == "custom" else ""
        count = len(POLICIES) if wanted == "custom" else 0
        xml = (f'{head}<ResponseHeadersPolicyList xmlns="{NS}"><MaxItems>100</MaxItems>'
               f'<Quantity>{count}</Quantity><Items>{items}</Items></ResponseHeadersPolicyList>')
        handler.reply(200, xml.encode(), [("Content-Type", "text/xml")])
        return True
    if policy_id not in POLICIES:
        return error(404, "NoSuchResponseHeadersPolicy")
    if handler.command == "GET":
        return answer(200)
    if handler.command == "PUT":
        if handler.headers.get("If-Match") != f'E{POLICIES[policy_id]["etag"]}':
            return error(412, "PreconditionFailed")
        config, name = policy_config_of(body)
        POLICIES[policy_id].update(config=config, name=name)
        POLICIES[policy_id]["etag"] += 1
        return answer(200)
    return error(400, "InvalidArgument")


CONFIG_PATH = re.compile(r"^/2020-05-31/distribution/([^/]+)/config$")


def remember_association(path, body):
    """From an UpdateDistribution body: the default cache behavior's viewer-request function
    and response headers policy."""
    m = CONFIG_PATH.match(urlsplit(path).path)
    if not m:
        return
    behavior = ET.fromstring(body).find(f"{{{NS}}}DefaultCacheBehavior")
    kept = ASSOCIATIONS.setdefault(m.group(1), {})
    kept.pop("function", None)
    for assoc in behavior.iter(f"{{{NS}}}FunctionAssociation"):
        if assoc.find(f"{{{NS}}}EventType").text == "viewer-request":
            kept["function"] = assoc.find(f"{{{NS}}}FunctionARN").text
    policy = behavior.find(f"{{{NS}}}ResponseHeadersPolicyId")
    kept["policy"] = policy.text if policy is not None else None


def with_association(path, data):
    """A GetDistributionConfig answer with the associations the emulator did not keep."""
    m = CONFIG_PATH.match(urlsplit(path).path)
    if not m or m.group(1) not in ASSOCIATIONS:
        return data
    kept = ASSOCIATIONS[m.group(1)]
    text = data.decode()
    if kept.get("function"):
        xml = ('<FunctionAssociations><Quantity>1</Quantity><Items><FunctionAssociation>'
               f'<FunctionARN>{kept["function"]}</FunctionARN><EventType>viewer-request</EventType>'
               '</FunctionAssociation></Items></FunctionAssociations>')
        text = re.sub(r"(<DefaultCacheBehavior>.*?)<FunctionAssociations>.*?</FunctionAssociations>",
                      lambda mm: mm.group(1) + xml, text, count=1, flags=re.S)
    if kept.get("policy"):
        text = text.replace("<DefaultCacheBehavior>",
                            f"<DefaultCacheBehavior><ResponseHeadersPolicyId>{kept['policy']}</ResponseHeadersPolicyId>", 1)
    return text.encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        # A HEAD answer has no body but the length of the object it describes.
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def s3_error(self, status, code, message):
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'.encode()
        self.reply(status, body, [("Content-Type", "application/xml")])

    def handle_any(self):
        global writes_seen, held_announced
        if self.path == "/__stats":
            with lock:
                body = json.dumps(stats).encode()
            return self.reply(200, body, [("Content-Type", "application/json")])
        body = self.read_body()
        if args.kvs and kvs_stub(self, body):
            return
        if args.functions:
            if functions_stub(self, body) or policies_stub(self, body):
                return
            if self.command == "PUT":
                remember_association(self.path, body)
        if args.reject_match and args.reject_match in self.path:
            with lock:
                reject = stats.get("rejected", 0) < args.reject_first
            if reject:
                bump("rejected")
                body = (f'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>{args.reject_code}</Code>'
                        f'<Message>rejected by the test proxy</Message></Error></ErrorResponse>').encode()
                return self.reply(400, body, [("Content-Type", "text/xml")])
        if args.deny:
            bump("denied")
            return self.s3_error(403, "AccessDenied", "Access Denied")
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        k = kind(self.command, self.path)
        spoiled = (args.read_fault and self.command == "GET" and k != "list"
                   and args.read_match in self.path)
        if spoiled and args.read_fault == "503":
            bump("read_faults")
            return self.s3_error(503, "SlowDown", "Please reduce your request rate.")
        if spoiled and args.read_fault == "missing":
            bump("read_faults")
            return self.s3_error(404, "NoSuchKey", "The specified key does not exist.")
        bump(k)
        if k == "list" and "start-after=" in self.path:
            bump("list_start_after")
        if k == "list" and "versions" in parse_qs(urlsplit(self.path).query, keep_blank_values=True):
            bump("list_versions")
            if "key-marker=" in self.path and "version-id-marker=" not in self.path:
                bump("list_versions_after")
        bump("bytes_sent", len(body))
        is_write = k in WRITES
        if is_write:
            bump("writes")
            # shipfront's own records and lock, apart from the site's objects.
            bump("state_writes" if "/.shipfront/" in self.path or "%2Eshipfront" in self.path else "site_writes")
            if any(h.lower() == "x-amz-acl" or h.lower().startswith("x-amz-grant-") for h in self.headers.keys()):
                bump("writes_setting_acl")
            if any(h.lower().startswith("x-amz-server-side-encryption") for h in self.headers.keys()):
                bump("writes_setting_encryption")
            if not self.headers.get("Content-MD5") and not any(h.lower().startswith("x-amz-checksum-") for h in self.headers.keys()) and k in ("put", "upload_part"):
                bump("writes_without_checksum")
            with lock:
                writes_seen += 1
                hold = (args.hold_after is not None and writes_seen > args.hold_after
                        and (not args.hold_match or args.hold_match in self.path))
                announce = hold and not held_announced
                if announce:
                    held_announced = True
            if hold:
                if announce:
                    print("held", flush=True)
                hold_forever.wait()
                return
            roll = rng.random()
            if roll < args.fail_rate:
                bump("injected_503")
                return self.s3_error(503, "SlowDown", "Please reduce your request rate.")
            drop = roll < args.fail_rate + args.drop_rate
            if args.drop_match and args.drop_match in self.path:
                with lock:
                    if stats.get("dropped_by_match", 0) < args.drop_first:
                        stats["dropped_by_match"] = stats.get("dropped_by_match", 0) + 1
                        drop = True
        else:
            drop = False
        md5 = self.headers.get("Content-MD5")
        if md5 and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
            bump("bad_digest")
            return self.s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        conn = http.client.HTTPConnection(args.target_host, args.target_port, timeout=60)
        headers = {k2: v for k2, v in self.headers.items() if k2.lower() not in ("transfer-encoding", "connection")}
        headers["Content-Length"] = str(len(body))
        if k == "list":
            list_started()
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        finally:
            if k == "list":
                list_ended()
        if k == "list" and resp.status == 200:
            count_list_chain(self.path, data)
            data = url_encoded_versions(self.path, data)
        if args.functions and self.command == "GET":
            data = with_association(self.path, data)
        if drop:
            bump("injected_drop")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        out_headers = [(h, v) for h, v in resp.getheaders() if h.lower() not in ("transfer-encoding", "content-length", "connection", "date", "server")]
        if spoiled and args.read_fault == "content-type" and resp.status == 200:
            bump("read_faults")
            out_headers = [(h, v) for h, v in out_headers if h.lower() != "content-type"]
            out_headers.append(("Content-Type", "text/plain"))
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.reply(resp.status, data, out_headers, length)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that hang up (a killed deploy, a dropped connection) are expected here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    global args, rng
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True, help="http://127.0.0.1:PORT of the emulator")
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--deny", action="store_true")
    p.add_argument("--reject-first", type=int, default=0)
    p.add_argument("--reject-match", default="")
    p.add_argument("--reject-code", default="TooManyInvalidationsInProgress")
    p.add_argument("--drop-first", type=int, default=0)
    p.add_argument("--drop-match", default="")
    p.add_argument("--functions", action="store_true")
    p.add_argument("--kvs", action="store_true")
    p.add_argument("--read-fault", choices=["content-type", "503", "missing"], default=None)
    p.add_argument("--read-match", default="")
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--hold-after", type=int, default=None)
    p.add_argument("--hold-match", default="")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    target = urlsplit(args.target)
    args.target_host, args.target_port = target.hostname, target.port
    rng = random.Random(args.seed)
    server = QuietServer(("127.0.0.1", 0), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    # Exit when the parent closes our stdin, so no proxy outlives its test.
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
