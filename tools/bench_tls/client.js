// SPDX-License-Identifier: GPL-2.0-only
// client.js - the node client of the TLS library benchmark (tools/bench_tls_libs.sh); node
// from Debian's nodejs has OpenSSL built into its executable. The same interface and output
// as main.c:
//   node client.js PORT handshakes N    N full handshakes to 127.0.0.1:PORT, one per connection
//   node client.js PORT writes N SIZE   one handshake, then N writes of SIZE bytes, each
//                                       issued once the previous one was handed to the kernel
// It waits 500 ms, makes one operation that is not counted, prints "start", then
// "N CPU_US WALL_US" (process.cpuUsage, all threads, over the N counted operations).
'use strict';
const tls = require('tls');

const [port, mode, n, size] = [+process.argv[2], process.argv[3], +process.argv[4],
	+(process.argv[5] || 0)];
if (!(mode === 'handshakes' || (mode === 'writes' && size > 0)) || !(n > 0)) {
	console.error('usage: node client.js PORT handshakes N | PORT writes N SIZE');
	process.exit(2);
}
const buf = Buffer.alloc(size, 'x');
let c0, w0;

function fail(e) {
	console.error('node:', e.message);
	process.exit(1);
}
function connect(cb) {
	const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => cb(s));
	s.on('error', fail);
}
function start() {
	console.log('start');
	c0 = process.cpuUsage();
	w0 = process.hrtime.bigint();
}
function done() {
	const c = process.cpuUsage(c0);
	console.log(n, c.user + c.system, Number((process.hrtime.bigint() - w0) / 1000n));
}
function handshakes(i) {
	if (i === n) {
		done();
		return;
	}
	connect((s) => {
		s.destroy();
		handshakes(i + 1);
	});
}
function writes(s, i) {
	if (i === n) {
		done();
		// Measured: how the server takes the close (at times an EPIPE) does not matter.
		s.removeListener('error', fail);
		s.on('error', () => {});
		s.end();
		return;
	}
	s.write(buf, () => writes(s, i + 1));
}

setTimeout(() => {
	if (mode === 'handshakes') {
		connect((s) => {
			s.destroy();
			start();
			handshakes(0);
		});
	} else {
		connect((s) => s.write(buf, () => {
			start();
			writes(s, 0);
		}));
	}
}, 500);
