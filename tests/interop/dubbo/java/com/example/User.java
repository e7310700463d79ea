package com.example;

import java.io.Serializable;

public class User implements Serializable {
    public String name;
    public int age;
    public long id;

    public User() {}

    public User(String name, int age, long id) {
        this.name = name;
        this.age = age;
        this.id = id;
    }
}
