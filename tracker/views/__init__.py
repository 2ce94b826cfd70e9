"""What people read: the HTML report, its charts, the dashboard's data, and listings."""
