"""Front doors the sandbox serves on loopback: DNS, load balancers, SSH, MySQL (issue #10)."""
