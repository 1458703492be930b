-- The quickstart's demo shop. Created once, next to where the example runs.
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT UNIQUE,
    vip         BOOLEAN NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    profile     JSON
);
CREATE TABLE products (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    price     NUMERIC(10, 2) NOT NULL,
    in_stock  BOOLEAN NOT NULL DEFAULT 1,
    tags      JSON
);
CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    status       TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    total        NUMERIC(10, 2) NOT NULL DEFAULT 0,
    placed_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    note         TEXT
);
CREATE TABLE order_items (
    order_id    INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE VIEW order_totals AS
    SELECT o.id AS order_id, c.name AS customer, o.status, o.total
    FROM orders o JOIN customers c ON c.id = o.customer_id;

INSERT INTO customers (id, name, email, vip, created_at, profile) VALUES
    (1, 'Ada Lovelace', 'ada@example.com', 1, '2024-01-05 09:30:00', '{"city": "London", "newsletter": true}'),
    (2, 'Alan Turing', 'alan@example.com', 0, '2024-02-11 14:00:00', '{"city": "Wilmslow", "newsletter": false}'),
    (3, 'Grace Hopper', 'grace@example.com', 1, '2024-03-20 08:15:00', '{"city": "Arlington"}'),
    (4, 'Edsger Dijkstra', NULL, 0, '2024-04-02 17:45:00', NULL);
INSERT INTO products (id, name, price, in_stock, tags) VALUES
    (1, 'Mechanical keyboard', 129.90, 1, '["hardware", "input"]'),
    (2, 'Trackball', 59.50, 1, '["hardware", "input"]'),
    (3, 'Monitor arm', 89.00, 0, '["hardware"]'),
    (4, 'Rust in Action (book)', 39.99, 1, '["books"]'),
    (5, 'USB-C hub', 24.95, 1, '["hardware", "usb"]');
INSERT INTO orders (id, customer_id, status, total, placed_at, note) VALUES
    (1, 1, 'paid', 189.40, '2024-05-01 10:00:00', NULL),
    (2, 1, 'shipped', 39.99, '2024-05-03 12:30:00', 'gift wrap'),
    (3, 2, 'new', 24.95, '2024-05-04 08:05:00', NULL),
    (4, 3, 'cancelled', 89.00, '2024-05-06 19:20:00', 'changed my mind');
INSERT INTO order_items (order_id, product_id, quantity) VALUES
    (1, 1, 1), (1, 2, 1), (2, 4, 1), (3, 5, 1), (4, 3, 1);
