"""Order objects over the compiled machines (Taobao, ICBU, KA), their history, their stored
format and optimistic concurrency for saving them."""
