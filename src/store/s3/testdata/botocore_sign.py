#!/usr/bin/env python3
"""Signs requests with botocore's S3SigV4Auth, the signer of the aws CLI.

Reads a JSON list of requests on stdin and prints, for each, the headers
botocore adds (JSON list of objects). Each request:
  {"method", "scheme", "host", "path" (raw, not encoded), "query": [[k, v]...]
   (raw), "headers": [[k, v]...], "body" (string), "time" (unix seconds),
   "access_key", "secret_key", "token", "region"}
The URL is built the way botocore's S3 serializer builds it: the path with
quote(safe='/~'), query names and values with quote(safe='-_.~').
"""
import datetime
import json
import sys
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(r):
    when = datetime.datetime.fromtimestamp(r["time"], datetime.timezone.utc).replace(tzinfo=None)
    botocore.auth.get_current_datetime = lambda: when
    url = r["scheme"] + "://" + r["host"] + quote(r["path"].encode("utf-8"), safe="/~")
    if r["query"]:
        url += "?" + "&".join(
            quote(k.encode("utf-8"), safe="-_.~") + "=" + quote(v.encode("utf-8"), safe="-_.~")
            for k, v in r["query"])
    req = AWSRequest(method=r["method"], url=url, data=r["body"].encode("utf-8"))
    for k, v in r["headers"]:
        req.headers[k] = v
    creds = Credentials(r["access_key"], r["secret_key"], r["token"] or None)
    botocore.auth.S3SigV4Auth(creds, "s3", r["region"]).add_auth(req)
    wanted = ("authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token")
    return {k.lower(): v for k, v in req.headers.items() if k.lower() in wanted}


print(json.dumps([sign(r) for r in json.load(sys.stdin)]))
