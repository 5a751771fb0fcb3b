#!/usr/bin/env python3
"""A plain QMP client, as QEMU's own test scripts speak the protocol (one JSON object per
command, no newline needed; replies matched by id; events in between). Prints every message
it receives, one JSON object per line, so that a test can check them.

    qmp_client.py SOCKET [--until-event NAME[:STATUS]] [--timeout S] COMMAND_JSON...

Each COMMAND_JSON is sent once the previous one's reply (or error) arrived; a COMMAND of the
form @NAME[:STATUS] instead waits for that event, and ?STATUS polls query-migrate every
100 ms until the migration's status is STATUS. With --until-event, it then reads events
until one named NAME (with data.status STATUS) came.
"""
import json
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    until = None
    timeout = 60.0
    while args and args[0].startswith('--'):
        option = args.pop(0)
        if option == '--until-event':
            until = args.pop(0)
        elif option == '--timeout':
            timeout = float(args.pop(0))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    decoder = json.JSONDecoder()
    buffer = ''

    def receive():
        nonlocal buffer
        while True:
            text = buffer.lstrip()
            if text:
                try:
                    message, end = decoder.raw_decode(text)
                    buffer = text[end:]
                    print(json.dumps(message), flush=True)
                    return message
                except ValueError:
                    pass
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError('the server closed the connection')
            buffer += chunk.decode('utf-8')

    def wait_for(event):
        name, _, status = event.partition(':')
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = receive()
            if message.get('event') == name and (
                    not status or message.get('data', {}).get('status') == status):
                return True
        return False

    def execute(request, number):
        request['id'] = number
        sock.sendall(json.dumps(request).encode('utf-8'))
        while True:
            message = receive()
            if message.get('id') == number:
                return message

    receive()  # the greeting
    for number, command in enumerate(args):
        if command.startswith('@'):
            if not wait_for(command[1:]):
                return 1
            continue
        if command.startswith('?'):
            deadline = time.monotonic() + timeout
            while execute({'execute': 'query-migrate'}, 'poll').get(
                    'return', {}).get('status') != command[1:]:
                if time.monotonic() > deadline:
                    return 1
                time.sleep(0.1)
            continue
        execute(json.loads(command), number)
    if until and not wait_for(until):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
