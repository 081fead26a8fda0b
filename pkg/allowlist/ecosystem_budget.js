// Wraps the built-ins of the sandbox that make or walk something sized by a
// number in one native call, which goja's interrupt cannot stop. Each wrapper
// computes the size the original would make or walk, calls budget (which
// interrupts the runtime: the file cannot catch it) when it is over max, and
// otherwise calls the original with the values it checked, so that a getter
// or valueOf cannot answer one size to the check and another to the call.
//
// Every intrinsic a wrapper uses is taken here, before the file runs, so the
// file cannot replace it; the wrappers keep their state in objects without a
// prototype for the same reason.
(function (budget, max) {
	"use strict";
	var apply = Reflect.apply, construct = Reflect.construct;
	var isArray = Array.isArray, keys = Object.keys, create = Object.create;
	var getProto = Object.getPrototypeOf, getOwn = Object.getOwnPropertyDescriptor;
	var define = Object.defineProperty, names = Object.getOwnPropertyNames;
	var toStr = String, StringObject = String, ProxyCtor = Proxy, min = Math.min;
	var indexOf = String.prototype.indexOf, hasOwn = Object.prototype.hasOwnProperty;
	var global = globalThis;

	function stop(what) {
		budget(what);
		throw new RangeError("ecosystem file exceeded its memory budget"); // not reached
	}

	function over(n, what) {
		if (n > max) {
			stop(what + " " + n + " is over the limit of " + max);
		}
	}

	// num converts a size the way the original will (ToNumber), NaN as 0.
	function num(v) {
		var n = +v;
		return n === n ? n : 0;
	}

	// lengthOf reads the length a built-in would read from an array-like: a
	// plain number, or the file is stopped (an accessor or an object could
	// answer differently when the original reads it again).
	function lengthOf(o) {
		if (o === null || o === undefined) {
			return 0;
		}
		if (typeof o === "string") {
			return o.length;
		}
		if (typeof o !== "object" && typeof o !== "function") {
			return 0;
		}
		if (isArray(o)) {
			return o.length;
		}
		for (var p = o; p !== null; p = getProto(p)) {
			var d = getOwn(p, "length");
			if (d === undefined) {
				continue;
			}
			if (!apply(hasOwn, d, ["value"])) {
				stop("an array-like whose length is a getter is not allowed");
			}
			if (d.value !== null && (typeof d.value === "object" || typeof d.value === "function")) {
				stop("an array-like whose length is an object is not allowed");
			}
			return num(d.value);
		}
		return 0;
	}

	// stringLength is the length of a string or String object, 0 otherwise.
	function stringLength(v) {
		if (typeof v === "string") {
			return v.length;
		}
		if (v instanceof StringObject) {
			return toStr(v).length;
		}
		return 0;
	}

	function count(s, sub) {
		var n = 0;
		for (var i = apply(indexOf, s, [sub]); i >= 0; i = apply(indexOf, s, [sub, i + sub.length])) {
			n++;
		}
		return n;
	}

	// wrap replaces obj[key] by a function that calls check(orig, this,
	// arguments); check returns the result, usually by calling orig.
	function wrap(obj, key, check) {
		var orig = obj[key];
		if (typeof orig !== "function") {
			return;
		}
		var w = function () {
			return check(orig, this, arguments);
		};
		define(obj, key, {value: w, writable: true, enumerable: false, configurable: true});
	}

	// put sets arr[i] without the setters the file may have put on
	// Array.prototype.
	function put(arr, i, v) {
		define(arr, i, {value: v, writable: true, enumerable: true, configurable: true});
	}

	// Iterators: goja walks them in Go (spread, Array.from, new Set), so
	// their next methods become JavaScript calls, which the interrupt stops.
	var iterators = [[][Symbol.iterator](), ""[Symbol.iterator](), new Map()[Symbol.iterator](),
		new Set()[Symbol.iterator](), "".matchAll(/x/g)];
	for (var it = 0; it < iterators.length; it++) {
		wrap(getProto(iterators[it]), "next", function (orig, self, list) {
			return apply(orig, self, list);
		});
	}

	// Arrays: every method walks this.length; concat also its arguments.
	var AP = Array.prototype;
	var apKeys = names(AP);
	apKeys[apKeys.length] = Symbol.iterator;
	for (var i = 0; i < apKeys.length; i++) {
		if (apKeys[i] === "constructor" || apKeys[i] === "length") {
			continue;
		}
		wrap(AP, apKeys[i], function (orig, self, list) {
			over(lengthOf(self), "array length");
			for (var j = 0; j < list.length; j++) {
				if (isArray(list[j])) {
					over(list[j].length, "array length");
				}
			}
			return apply(orig, self, list);
		});
	}
	// join writes each element and the separator between them. It converts
	// the elements itself, each once as the original would, so that their
	// size is known before anything is joined: a bound native toString can
	// return a large string with no JavaScript running in between.
	wrap(AP, "join", function (orig, self, list) {
		if (self === null || self === undefined) {
			return apply(orig, self, list);
		}
		var n = lengthOf(self), sep = list[0] === undefined ? "," : toStr(list[0]);
		var parts = [], total = n > 0 ? (n - 1) * sep.length : 0;
		over(total, "joined string length");
		for (var j = 0; j < n; j++) {
			var v = self[j];
			var part = v === null || v === undefined ? "" : typeof v === "symbol" ? v : toStr(v);
			put(parts, j, part);
			total += typeof part === "string" ? part.length : 0;
			over(total, "joined string length");
		}
		return apply(orig, parts, [sep]);
	});
	// concat spreads arrays and objects marked Symbol.isConcatSpreadable.
	wrap(AP, "concat", function (orig, self, list) {
		for (var j = 0; j < list.length; j++) {
			over(lengthOf(list[j]), "array length");
		}
		return apply(orig, self, list);
	});
	// flat copies nested arrays: count what it would write first.
	wrap(AP, "flat", function (orig, self, list) {
		var depth = list[0] === undefined ? 1 : num(list[0]), total = 0;
		function walk(a, d) {
			var n = lengthOf(a);
			for (var j = 0; j < n; j++) {
				var v = a[j];
				if (d >= 2 && isArray(v)) {
					walk(v, d - 1);
				} else if (d > 0 && isArray(v)) {
					total += lengthOf(v);
					over(total, "flattened array length");
				} else {
					over(++total, "flattened array length");
				}
			}
		}
		walk(self, depth);
		return apply(orig, self, [depth]);
	});
	wrap(Array, "from", function (orig, self, list) {
		over(lengthOf(list[0]), "Array.from length");
		return apply(orig, self, list);
	});

	// new Array(n) and Array(n); also the constructor methods reach through
	// AP.constructor (species) and subclasses.
	function checkNew(list) {
		if (list.length === 1 && typeof list[0] === "number") {
			over(list[0], "new Array length");
		}
	}
	var OrigArray = Array;
	var GuardedArray = new ProxyCtor(OrigArray, {
		apply: function (target, self, list) {
			checkNew(list);
			return apply(target, self, list);
		},
		construct: function (target, list, newTarget) {
			checkNew(list);
			return construct(target, list, newTarget === GuardedArray ? target : newTarget);
		},
	});
	define(AP, "constructor", {value: GuardedArray, writable: true, enumerable: false, configurable: true});
	define(global, "Array", {value: GuardedArray, writable: true, enumerable: false, configurable: true});

	// Array-likes spread into arguments.
	wrap(Function.prototype, "apply", function (orig, self, list) {
		over(lengthOf(list[1]), "arguments length");
		return apply(orig, self, list);
	});
	wrap(Reflect, "apply", function (orig, self, list) {
		over(lengthOf(list[2]), "arguments length");
		return apply(orig, self, list);
	});
	wrap(Reflect, "construct", function (orig, self, list) {
		over(lengthOf(list[1]), "arguments length");
		return apply(orig, self, list);
	});

	// Strings.
	var SP = String.prototype;
	wrap(SP, "repeat", function (orig, self, list) {
		if (self === null || self === undefined) {
			return apply(orig, self, list);
		}
		var s = toStr(self), n = num(list[0]);
		if (n !== Infinity) {
			over(s.length * n, "string length");
		}
		return apply(orig, s, [n]);
	});
	function pad(orig, self, list) {
		if (self === null || self === undefined) {
			return apply(orig, self, list);
		}
		var n = num(list[0]);
		over(n, "string length");
		return apply(orig, toStr(self), list.length > 1 ? [n, list[1]] : [n]);
	}
	wrap(SP, "padStart", pad);
	wrap(SP, "padEnd", pad);
	wrap(SP, "concat", function (orig, self, list) {
		if (self === null || self === undefined) {
			return apply(orig, self, list);
		}
		var s = toStr(self), parts = [], total = s.length;
		for (var j = 0; j < list.length; j++) {
			var part = toStr(list[j]);
			put(parts, j, part);
			total += part.length;
		}
		over(total, "string length");
		return apply(orig, s, parts);
	});
	// replaced returns the most a replacement string r can write over s:
	// $& and $n repeat matched text (at most s once in all), $` and $' the
	// text before or after each match (s per match).
	function replaced(s, r) {
		var l = s.length;
		return l + (l + 1) * r.length + count(r, "$") * l +
			(count(r, "$`") + count(r, "$'")) * (l + 1) * l;
	}
	function stringReplace(orig, self, list) {
		if (self === null || self === undefined || typeof list[1] === "function") {
			return apply(orig, self, list);
		}
		var s = toStr(self), r = toStr(list[1]);
		over(replaced(s, r), "replaced string length");
		return apply(orig, s, [list[0], r]);
	}
	// splitLimit checks the parts a split of str can make and returns the
	// limit as the original will read it (ToUint32), or undefined.
	function splitLimit(str, limit) {
		var lim = limit === undefined ? undefined : num(limit) >>> 0;
		over(min(lim === undefined ? Infinity : lim, str.length + 1), "split part count");
		return lim;
	}
	wrap(SP, "replace", stringReplace);
	wrap(SP, "replaceAll", stringReplace);
	wrap(SP, "split", function (orig, self, list) {
		if (self === null || self === undefined) {
			return apply(orig, self, list);
		}
		var s = toStr(self), lim = splitLimit(s, list[1]);
		return apply(orig, s, lim === undefined ? [list[0]] : [list[0], lim]);
	});
	wrap(SP, Symbol.iterator, function (orig, self, list) {
		over(stringLength(toStr(self)), "iterated string length");
		return apply(orig, self, list);
	});
	wrap(String, "raw", function (orig, self, list) {
		var t = list[0];
		if (t === null || t === undefined) {
			return apply(orig, self, list);
		}
		var raw = t.raw, copy = [{raw: raw}];
		over(lengthOf(raw), "String.raw length");
		for (var j = 1; j < list.length; j++) {
			put(copy, j, list[j]);
		}
		return apply(orig, self, copy);
	});
	var RP = RegExp.prototype;
	wrap(RP, Symbol.replace, function (orig, self, list) {
		if (typeof list[1] === "function") {
			return apply(orig, self, list);
		}
		var s = toStr(list[0]), r = toStr(list[1]);
		over(replaced(s, r), "replaced string length");
		return apply(orig, self, [s, r]);
	});
	wrap(RP, Symbol.split, function (orig, self, list) {
		var s = toStr(list[0]), lim = splitLimit(s, list[1]);
		return apply(orig, self, lim === undefined ? [s] : [s, lim]);
	});

	// Functions that list the characters of a string as properties.
	var objectWalkers = ["keys", "values", "entries", "getOwnPropertyNames",
		"getOwnPropertyDescriptors", "assign"];
	for (var k = 0; k < objectWalkers.length; k++) {
		wrap(Object, objectWalkers[k], function (orig, self, list) {
			for (var j = 0; j < list.length; j++) {
				over(stringLength(list[j]), "string length");
			}
			return apply(orig, self, list);
		});
	}
	wrap(Reflect, "ownKeys", function (orig, self, list) {
		over(stringLength(list[0]), "string length");
		return apply(orig, self, list);
	});

	// JSON.stringify walks arrays by their length: estimate the text first.
	// The walk is JavaScript, so the time limit still applies to it.
	wrap(JSON, "stringify", function (orig, self, list) {
		var todo = create(null), n = 0, total = 0;
		todo[n++] = list[0];
		while (n > 0) {
			var v = todo[--n];
			if (typeof v === "string") {
				total += 6 * v.length + 2; // \u0000 is six characters
			} else if (v !== null && typeof v === "object") {
				total += 2;
				if (isArray(v)) {
					var len = v.length;
					over(len, "JSON.stringify array length");
					total += len;
					for (var j = 0; j < len && total <= max; j++) {
						todo[n++] = v[j];
					}
				} else {
					var ks = keys(v);
					for (var j2 = 0; j2 < ks.length && total <= max; j2++) {
						total += 6 * ks[j2].length + 4;
						todo[n++] = v[ks[j2]];
					}
				}
			} else if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") {
				total += toStr(v).length;
			}
			over(total, "JSON.stringify text length");
		}
		return apply(orig, self, list);
	});

	// eval and the Function constructors compile text at run time, in one
	// native call the interrupt cannot stop, where deep nesting overflows
	// the Go stack: an ecosystem file needs none of them.
	var noCompile = function () {
		throw new TypeError("eval and the Function constructor are not available: the " +
			"ecosystem file is read in a sandbox; list the apps literally");
	};
	define(noCompile, "prototype", {value: Function.prototype});
	var compilers = [Function.prototype, getProto(function* () {}), getProto(async function () {})];
	for (var c = 0; c < compilers.length; c++) {
		define(compilers[c], "constructor", {value: noCompile, writable: true, configurable: true});
	}
	define(global, "Function", {value: noCompile, writable: true, configurable: true});
	define(global, "eval", {value: noCompile, writable: true, configurable: true});

	// Typed arrays and buffers allocate their whole size at construction,
	// and Proxy could answer a length check one way and the call another.
	var removed = ["ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array",
		"Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
		"Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Proxy"];
	for (var m = 0; m < removed.length; m++) {
		delete global[removed[m]];
	}
})
