#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# embed_text.py NAME INPUT OUTPUT: writes a C file defining `const char NAME[]` holding the
# text of INPUT, so the SQL schema ships inside the binaries that create stores.
import sys

name, src, dst = sys.argv[1:4]
with open(src, 'rb') as f:
    data = f.read()
with open(dst, 'w') as out:
    out.write('/* generated from %s by embed_text.py */\n' % src.split('/')[-1])
    out.write('const char %s[] = {\n' % name)
    for i in range(0, len(data), 16):
        out.write('\t' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',\n')
    out.write('\t0x00\n};\n')
