DROP INDEX devices_sort;
