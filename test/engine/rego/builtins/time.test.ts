import { describe, expect, test } from "bun:test";
import { BigNum } from "../../../../src/engine/rego/value.ts";
import { call, callErr, callJ, ctx } from "./helpers.ts";

const L = "2006-01-02T15:04:05Z07:00";

describe("time.*", () => {
  test("now_ns is the evaluation's fixed time", () => {
    const c = ctx({ timeNs: 1700000000123456789n });
    expect(call("time.now_ns", [], c)).toEqual(new BigNum(1700000000123456789n, 0));
  });
  test("parse_ns with Go layouts and named layouts; int64 range", () => {
    expect(call("time.parse_ns", [L, "2017-06-02T19:00:00-07:00"])).toEqual(new BigNum(14964552n, 11));
    expect(call("time.parse_ns", ["01/02 03:04:05PM '06 -0700", "06/02 07:00:00PM '17 -0700"])).toEqual(new BigNum(14964552n, 11));
    expect(call("time.parse_ns", ["RFC822Z", "02 Jun 17 19:00 -0700"])).toEqual(new BigNum(14964552n, 11));
    expect(call("time.parse_ns", [L, "1677-09-21T00:12:43.145224192-00:00"])).toEqual(new BigNum(-9223372036854775808n, 0));
    expect(callErr("time.parse_ns", [L, "2262-04-11T23:47:16.854775808-00:00"]).message).toBe("time outside of valid range");
    expect(callErr("time.parse_ns", ["2006-01-02", "2021-02-29"]).message).toBe('parsing time "2021-02-29": day out of range');
    expect(callErr("time.parse_ns", ["2006-01-02", "2021-02-xx"]).message).toBe('parsing time "2021-02-xx" as "2006-01-02": cannot parse "xx" as "02"');
    expect(call("time.parse_rfc3339_ns", ["1970-01-01T00:00:01.5Z"])).toBe(1500000000);
  });
  test("parse_duration_ns (Go ParseDuration)", () => {
    expect(call("time.parse_duration_ns", ["100ms"])).toBe(100000000);
    expect(call("time.parse_duration_ns", ["1h2m3.5s"])).toBe(3723500000000);
    expect(call("time.parse_duration_ns", ["-1.5us"])).toBe(-1500);
    expect(callErr("time.parse_duration_ns", ["1"]).message).toBe('time: missing unit in duration "1"');
    expect(callErr("time.parse_duration_ns", ["3d"]).message).toBe('time: unknown unit "d" in duration "3d"');
  });
  test("date / clock / weekday with zones", () => {
    const ns = 1517814000n * 1000000000n;
    expect(callJ("time.date", [ns])).toEqual([2018, 2, 5]);
    expect(callJ("time.date", [[ns, "America/Los_Angeles"]])).toEqual([2018, 2, 4]);
    expect(callJ("time.clock", [[1517832000n * 1000000000n, "America/New_York"]])).toEqual([7, 0, 0]);
    expect(call("time.weekday", [1518004800000000000n])).toBe("Wednesday");
    expect(callErr("time.date", [1582977600n * 10n ** 12n]).message).toBe("timestamp too big");
    expect(callErr("time.date", [[0, "Mars/Olympus"]]).message).toBe("unknown time zone Mars/Olympus");
  });
  test("format with layouts and zones", () => {
    const ns = 1670006453141828752n;
    expect(call("time.format", [ns])).toBe("2022-12-02T18:40:53.141828752Z");
    expect(call("time.format", [[ns, "Asia/Kolkata"]])).toBe("2022-12-03T00:10:53.141828752+05:30");
    expect(call("time.format", [[ns, "Asia/Kolkata", "RFC1123Z"]])).toBe("Sat, 03 Dec 2022 00:10:53 +0530");
    expect(call("time.format", [[ns, "UTC", "Monday January _2 3:04:05.000 PM 2006 MST"]])).toBe("Friday December  2 6:40:53.141 PM 2022 UTC");
  });
  test("add_date normalises like Go; diff", () => {
    expect(call("time.add_date", [1585852421593912000n, 3, 9, 12])).toEqual(new BigNum(1705257221593912n, 3));
    // Jan 31 + 1 month = Mar 3 (2021)
    const jan31 = call("time.parse_ns", ["2006-01-02", "2021-01-31"]) as never;
    expect(call("time.format", [[call("time.add_date", [jan31, 0, 1, 0]) as never, "UTC", "2006-01-02"]])).toBe("2021-03-03");
    expect(callErr("time.add_date", [0, 2262, 1, 1]).message).toBe("time outside of valid range");
    const d = (s: string) => call("time.parse_ns", ["2006-01-02", s]) as never;
    expect(callJ("time.diff", [d("2020-02-02"), d("2020-03-01")])).toEqual([0, 0, 28, 0, 0, 0]);
    expect(callJ("time.diff", [d("2005-03-01"), d("2004-02-29")])).toEqual([1, 0, 1, 0, 0, 0]);
  });
});
