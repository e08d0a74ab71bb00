"""A file that tries to open a socket when it loads."""

import socket

socket.socket(socket.AF_INET, socket.SOCK_STREAM)
