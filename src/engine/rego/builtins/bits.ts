/** bits.* builtins on arbitrary-precision integers. */
import { type BigNum, isNumber, numFromBigInt, toBigInt, type Value } from "../value.ts";
import { type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";

function intArg(args: Value[], i: number): bigint {
  const v = args[i] as Value;
  if (!isNumber(v)) throw typeErr(i + 1, "number", v);
  if (typeof v === "number" ? !Number.isInteger(v) : !(v as BigNum).isInt)
    throw new BuiltinError(`operand ${i + 1} must be integer number but got floating-point number`, "eval_type_error");
  return toBigInt(v);
}

function shiftArg(args: Value[], i: number): bigint {
  const n = intArg(args, i);
  if (n < 0n) throw new BuiltinError(`operand ${i + 1} must be an unsigned integer number but got a negative integer`, "eval_type_error");
  return n;
}

const MAX_SHIFT = 1n << 20n;

export const builtins: BuiltinDef[] = [
  def("bits.or", 2, (a) => numFromBigInt(intArg(a, 0) | intArg(a, 1))),
  def("bits.and", 2, (a) => numFromBigInt(intArg(a, 0) & intArg(a, 1))),
  def("bits.xor", 2, (a) => numFromBigInt(intArg(a, 0) ^ intArg(a, 1))),
  def("bits.negate", 1, (a) => numFromBigInt(~intArg(a, 0))),
  def("bits.lsh", 2, (a) => {
    const x = intArg(a, 0);
    const n = shiftArg(a, 1);
    if (n > MAX_SHIFT && x !== 0n) throw new BuiltinError("shift amount too large");
    return numFromBigInt(x << n);
  }),
  def("bits.rsh", 2, (a) => {
    const x = intArg(a, 0);
    const n = shiftArg(a, 1);
    if (n > MAX_SHIFT) return numFromBigInt(x < 0n ? -1n : 0n);
    return numFromBigInt(x >> n);
  }),
];
