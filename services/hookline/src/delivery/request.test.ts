import { createHmac } from "node:crypto";
import { signingKeyOf } from "../signing/secret.js";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { buildRequest } from "./request.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const target = { url: "https://example.com/hook?x=1", http_verb: "post" as const, secret: SECRET, previous_secret: null, custom_data: '{"env":"prod","status":"masked"}' };

describe("buildRequest", () => {
  it("signs what the standardwebhooks package verifies, event fields winning over custom_data", () => {
    const now = Math.floor(Date.now() / 1000);
    const request = buildRequest(target, "build:complete", { status: "ok" }, "msg_7", now);
    expect(JSON.parse(request.body)).toEqual({ env: "prod", status: "ok" });
    expect(new Webhook(SECRET).verify(request.body, request.headers)).toEqual({ env: "prod", status: "ok" });
    expect(request.method).toBe("POST");
    expect(request.headers).toMatchObject({ "content-type": "application/json", "accept-encoding": "identity", "user-agent": expect.stringMatching(/^Hookline\/\d+\.\d+\.\d+/) });
  });

  it("signs with the current and the previous secret during a rotation, one v1 signature each, space-separated", () => {
    const previous = "whsec_" + Buffer.alloc(32, 9).toString("base64");
    const request = buildRequest({ ...target, previous_secret: previous }, "x", { a: 1 }, "msg_9", Math.floor(Date.now() / 1000));
    expect(request.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    for (const secret of [SECRET, previous]) expect(new Webhook(secret).verify(request.body, request.headers), secret).toEqual({ env: "prod", status: "masked", a: 1 });
  });

  it("sends data given as JSON text verbatim when nothing is merged, and merges it otherwise", () => {
    const now = Math.floor(Date.now() / 1000);
    const plain = buildRequest({ ...target, custom_data: null }, "x", '{"a": 1}', "msg_3", now);
    expect(plain.body).toBe('{"a": 1}');
    expect(new Webhook(SECRET).verify(plain.body, plain.headers)).toEqual({ a: 1 });
    const merged = buildRequest(target, "x", '{"status": "ok"}', "msg_4", now);
    expect(JSON.parse(merged.body)).toEqual({ env: "prod", status: "ok" });
  });

  it("signs a non-whsec secret as its UTF-8 bytes", () => {
    const request = buildRequest({ ...target, secret: "123456" }, "x", {}, "msg_1", Math.floor(Date.now() / 1000));
    const key = Buffer.from("123456").toString("base64");
    expect(() => new Webhook(key).verify(request.body, request.headers)).not.toThrow();
  });

  it("appends a get hook's fields to its query string and signs that query string in place of a body", () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const request = buildRequest({ ...target, http_verb: "get" }, "x", { a: [1] }, "msg_2", timestamp);
    expect(request.method).toBe("GET");
    expect(new URL(request.url).search).toBe("?x=1&env=prod&status=masked&a=%5B1%5D");
    expect(request.body).toBe("x=1&env=prod&status=masked&a=%5B1%5D");
    const expected = createHmac("sha256", signingKeyOf(SECRET)).update(`msg_2.${timestamp}.${request.body}`).digest("base64");
    expect(request.headers["webhook-signature"]).toBe(`v1,${expected}`);
  });

  it("delivers the producer's data exactly: big numbers, number text and key order, custom_data spliced in ahead", () => {
    const now = Math.floor(Date.now() / 1000);
    const data = '{"zeta":1,"10":2,"order_id":9007199254740993,"price":1.50,"status":"ok"}';
    const merged = buildRequest(target, "x", data, "msg_5", now);
    expect(merged.body).toBe('{"env":"prod","zeta":1,"10":2,"order_id":9007199254740993,"price":1.50,"status":"ok"}');
    expect(() => new Webhook(SECRET).verify(merged.body, merged.headers)).not.toThrow();
    const get = buildRequest({ ...target, url: "https://example.com/h", http_verb: "get", custom_data: null }, "x", '{"order_id":9007199254740993,"f":1.50}', "msg_6", now);
    expect(get.body).toBe("order_id=9007199254740993&f=1.50");
  });

  it("splices custom_data in as its own text: its numbers, keys and key order as written, the event's keys still winning", () => {
    const now = Math.floor(Date.now() / 1000);
    const custom = { ...target, custom_data: '{"n":9007199254740993, "z":1,"10":"ten","a":"masked","a":"last"}' };
    const post = buildRequest(custom, "x", '{"z":"event","b":[1.0]}', "msg_8", now);
    expect(post.body).toBe('{"n":9007199254740993,"10":"ten","a":"last","z":"event","b":[1.0]}');
    expect(() => new Webhook(SECRET).verify(post.body, post.headers)).not.toThrow();
    const get = buildRequest({ ...custom, url: "https://example.com/h", http_verb: "get" }, "x", '{"o":{"2":1,"1":1e400}}', "msg_9", now);
    expect(decodeURIComponent(get.body)).toBe('n=9007199254740993&z=1&10=ten&a=last&o={"2":1,"1":1e400}');
  });
});
