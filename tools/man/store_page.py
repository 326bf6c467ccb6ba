#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# store_page.py SCD CHUNKMETA_C SCDOC OUTPUT: builds ecap-store(5). Takes the FORMAT part of
# the opening comment of schema/chunkmeta.c (from the line "FORMAT" to the end of the
# comment), puts it where the scdoc source says @CHUNK_FORMAT@, and runs scdoc on the result.
import re
import subprocess
import sys

scd, chunkmeta, scdoc, output = sys.argv[1:5]
src = open(chunkmeta).read()
comment = src[src.index('/*'):src.index('*/')]
lines = [re.sub(r'^ ?\* ?', '', ln) for ln in comment.split('\n')[1:]]
start = next(i for i, ln in enumerate(lines) if ln.startswith('FORMAT'))
fmt = '\n'.join(ln.rstrip() for ln in lines[start:]).strip('\n')
# the source's own comment lines (';') go: scdoc 1.11 misparses a literal block after them
text = ''.join(ln for ln in open(scd) if not ln.startswith(';'))
if '@CHUNK_FORMAT@' not in text:
    sys.exit('store_page.py: no @CHUNK_FORMAT@ in ' + scd)
page = subprocess.run([scdoc], input=text.replace('@CHUNK_FORMAT@', fmt), check=True,
                      capture_output=True, text=True).stdout
with open(output, 'w') as f:
    f.write(page)
